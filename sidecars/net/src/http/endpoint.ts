import { lookup as dnsLookup } from 'node:dns';
import type { LookupAddress, LookupAllOptions, LookupOneOptions } from 'node:dns';
import { isIP } from 'node:net';
import { NetFailure } from '../net-failure.js';
import { isNonPublicAddress } from './address-policy.js';

/** Where one provider call goes, and whether non-public addresses are allowed for it. */
export interface Endpoint {
  /** The base URL; paths are appended to its path. */
  readonly baseUrl: URL;
  /** True for a provider configured as local (a server on this machine or the private network). */
  readonly local: boolean;
}

/** Error code set on the error the guarded lookup reports for a refused address. */
export const addressRefusedCode = 'CRUSTCORE_ADDRESS_REFUSED';

/**
 * Checks a provider base URL before any connection: `https:` is required unless the provider is
 * local; credentials, query and fragment are refused; an IP literal must be public unless the
 * provider is local. Host names are checked again at connect time by {@link guardedLookup}.
 */
export function checkEndpoint(text: string, local: boolean, providerName: string): Endpoint {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new NetFailure('invalidParams', `provider '${providerName}': baseUrl is not a valid URL`);
  }
  if (url.protocol !== 'https:' && !(local && url.protocol === 'http:')) {
    throw new NetFailure(
      'invalidParams',
      `provider '${providerName}': baseUrl must use https (http is allowed only for a provider configured as local)`,
    );
  }
  if (url.username !== '' || url.password !== '') {
    throw new NetFailure('invalidParams', `provider '${providerName}': baseUrl must not carry credentials`);
  }
  if (url.search !== '' || url.hash !== '') {
    throw new NetFailure('invalidParams', `provider '${providerName}': baseUrl must not carry a query or fragment`);
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!local && (isIP(host) !== 0 ? isNonPublicAddress(host) : isLocalName(host))) {
    throw new NetFailure(
      'invalidParams',
      `provider '${providerName}': ${host} is a loopback, private or link-local address; only a provider configured as local may use one`,
    );
  }
  return { baseUrl: url, local };
}

function isLocalName(host: string): boolean {
  const lower = host.toLowerCase().replace(/\.$/, '');
  return lower === 'localhost' || lower.endsWith('.localhost') || lower.endsWith('.local');
}

/** The URL of `path` under an endpoint's base URL. */
export function endpointUrl(endpoint: Endpoint, path: string): URL {
  const url = new URL(endpoint.baseUrl.href);
  url.pathname = `${endpoint.baseUrl.pathname.replace(/\/+$/, '')}${path}`;
  return url;
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `dns.lookup` replacement for connections to remote providers: it resolves as usual, then
 * refuses the connection when any resolved address is not public. Checking at connect time (not
 * only when the URL is read) means a name that is re-pointed to a private address is still refused.
 */
export function guardedLookup(
  hostname: string,
  options: LookupOneOptions | LookupAllOptions | number | undefined,
  callback: LookupCallback,
): void {
  const normalized: LookupAllOptions =
    typeof options === 'number' ? { family: options, all: true } : { ...(options ?? {}), all: true };
  const wantsAll = typeof options === 'object' && options.all === true;
  dnsLookup(hostname, normalized, (error, addresses) => {
    if (error !== null) return callback(error, wantsAll ? [] : '');
    const refused = addresses.find((entry) => isNonPublicAddress(entry.address));
    if (refused !== undefined || addresses.length === 0) {
      const failure: NodeJS.ErrnoException = new Error(
        `${hostname} resolves to ${refused?.address ?? 'no address'}, which is not a public address`,
      );
      failure.code = addressRefusedCode;
      return callback(failure, wantsAll ? [] : '');
    }
    if (wantsAll) return callback(null, addresses);
    const first = addresses[0];
    return callback(null, first?.address ?? '', first?.family ?? 4);
  });
}
