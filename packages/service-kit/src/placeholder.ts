import { BusError, type FactorName } from '@warden/contracts'
import { contractEndpoints, handle, type FactorHandlers } from './factor-service.js'

/**
 * The build of a factor service that is deployed but not built yet: `describe` answers "nothing
 * enrolled", `notify` "reached nobody", and every other verb of its contract NOT_ENROLLED, so the
 * gateway and the notifier treat every factor alike from day one. It keeps no data, so
 * `user.reset` has nothing to delete.
 */
export function buildPlaceholder (factor: FactorName): () => FactorHandlers {
  return () => ({
    endpoints: contractEndpoints(factor).map((endpoint) => handle(endpoint, async () => {
      if (endpoint.name === 'describe') return { factor, enrolled: false, items: [] }
      // A notice (the notifier's) reaches nobody: there is nobody enrolled.
      if (endpoint.name === 'notify') return { reached: 0 }
      throw new BusError('NOT_ENROLLED', `no ${factor} factor is enrolled`)
    })),
    reset: async () => {},
  })
}
