/** How the net sidecar names itself in `initialize`. */
export const serverInfo = { name: 'crustcore-net', version: '0.1.0' } as const;

/** The methods the net sidecar offers, as listed in its `initialize` result. */
export const offeredMethods = ['net/complete', 'net/embed', 'net/rerank', '$/ping', '$/cancelRequest'] as const;
