import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { canonicalJson } from '../canonical-json.js';
import { OperatorError } from '../errors.js';

/** The Ed25519 key export manifests are signed with; its public half is published for verifiers. */
export interface SigningKey {
  keyId: string;
  privateKey: KeyObject;
  publicKeyPem: string;
}

export function signingKeyFrom(privateKey: KeyObject): SigningKey {
  if (privateKey.asymmetricKeyType !== 'ed25519')
    throw new OperatorError(`the signing key must be an Ed25519 key, not ${privateKey.asymmetricKeyType ?? 'unknown'}`);
  const publicKey = createPublicKey(privateKey);
  const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  return { keyId: keyIdOf(publicKeyPem), privateKey, publicKeyPem };
}

/** The first 16 hex characters of the SHA-256 of the public key (SPKI DER). */
export function keyIdOf(publicKeyPem: string): string {
  const der = createPublicKey(publicKeyPem).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex').slice(0, 16);
}

export function generateSigningKey(): SigningKey {
  return signingKeyFrom(generateKeyPairSync('ed25519').privateKey);
}

/**
 * The configured key (`CORREX_SIGNING_KEY_FILE`, PKCS#8 PEM). Without one, local mode makes its own
 * in the data folder once and keeps it, so exports made today still verify against it tomorrow.
 */
export async function loadSigningKey(options: { file: string | undefined; dataDir: string; createIfMissing: boolean }): Promise<SigningKey> {
  const file = options.file ?? path.resolve(options.dataDir, 'signing-key.pem');
  let pem: string;
  try {
    pem = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || options.file || !options.createIfMissing) {
      throw new OperatorError(`cannot read the export signing key ${file}: ${(error as Error).message}`);
    }
    const key = generateSigningKey();
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), { mode: 0o600 });
    return key;
  }
  try {
    return signingKeyFrom(createPrivateKey(pem));
  } catch (error) {
    throw error instanceof OperatorError
      ? error
      : new OperatorError(`the export signing key ${file} is not a PKCS#8 PEM private key: ${(error as Error).message}`);
  }
}

export function signManifest(key: SigningKey, manifest: unknown): string {
  return sign(null, Buffer.from(canonicalJson(manifest)), key.privateKey).toString('base64');
}

export function manifestSignatureValid(publicKeyPem: string, manifest: unknown, signature: string): boolean {
  try {
    return verify(null, Buffer.from(canonicalJson(manifest)), createPublicKey(publicKeyPem), Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

/**
 * The public key in a file a compliance officer saved: the PEM itself, or the JSON document of
 * `/.well-known/correx-signing-key` exactly as downloaded. Undefined when it is neither.
 */
export function publicKeyFromFile(text: string): string | undefined {
  const trimmed = text.replace(/^\uFEFF/, '').trim();
  if (trimmed.startsWith('-----BEGIN PUBLIC KEY-----')) return trimmed;
  try {
    const document = JSON.parse(trimmed) as { publicKey?: unknown };
    if (typeof document.publicKey === 'string' && document.publicKey.includes('-----BEGIN PUBLIC KEY-----')) return document.publicKey;
  } catch {
    // not JSON: fall through to "neither"
  }
  return undefined;
}
