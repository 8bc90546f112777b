export const protocolVersion = '1.0.0';
