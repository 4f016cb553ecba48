/** Time comes from here, so tests move time instead of sleeping (SECURITY.md §1.9). */
export interface Clock { now: () => Date }

export const systemClock: Clock = { now: () => new Date() }
