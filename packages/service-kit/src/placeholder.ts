import { BusError, type FactorName } from '@warden/contracts'
import { contractEndpoints, handle, type FactorHandlers } from './factor-service.js'

/**
 * The build of a factor service that is deployed but not built yet: `describe` answers "nothing
 * enrolled" and every other verb of its contract NOT_ENROLLED, so the gateway treats every factor
 * alike from day one. It keeps no data, so `user.reset` has nothing to delete.
 */
export function buildPlaceholder (factor: FactorName): () => FactorHandlers {
  return () => ({
    endpoints: contractEndpoints(factor).map((endpoint) => handle(endpoint, async () => {
      if (endpoint.name === 'describe') return { factor, enrolled: false, items: [] }
      throw new BusError('NOT_ENROLLED', `no ${factor} factor is enrolled`)
    })),
    reset: async () => {},
  })
}
