/**
 * What an S3 destination is, without the AWS SDK: settings and URIs. The SDK (tens of MB resident)
 * is loaded only where a destination of this kind is used.
 */

/** Public settings of an S3 destination (stored as config, shown in the API). */
export interface S3Settings {
  bucket: string
  /** Folder inside the bucket, without leading or trailing slash; '' for the bucket root. */
  prefix: string
  region?: string
  /** S3-compatible service URL (MinIO, Ceph, s3rver…); AWS when absent. */
  endpoint?: string
  /** Bucket in the path (http://host/bucket/key) instead of the host name; most S3-compatibles need it. */
  forcePathStyle?: boolean
  /** With the secret: static keys. Without: the AWS default credential chain (env, profile, IAM role). */
  accessKeyId?: string
  partSizeMb?: number
  uploadConcurrency?: number
}

export interface S3Secrets {
  secretAccessKey?: string
}

export const S3_DEFAULTS = { region: 'us-east-1', partSizeMb: 8, uploadConcurrency: 4 }

/** The root URI of an S3 destination: s3://bucket/prefix (whatever the endpoint). */
export function s3Uri(s: Pick<S3Settings, 'bucket' | 'prefix'>): string {
  return `s3://${s.bucket}${s.prefix ? `/${s.prefix}` : ''}`
}

/**
 * Without static keys an S3 destination signs with the service's own AWS credentials (environment,
 * profile, instance role). Those go to AWS only, or to endpoints an administrator named
 * (S3_DEFAULT_CREDENTIALS_ENDPOINTS): otherwise anyone who may create a destination could have the
 * service sign requests for a server of their choosing. Undefined when the settings are fine.
 */
export function defaultCredentialsProblem(
  s: Pick<S3Settings, 'accessKeyId' | 'endpoint'>,
  allowedEndpoints: readonly string[],
): string | undefined {
  if (s.accessKeyId || !s.endpoint) return undefined
  const u = new URL(s.endpoint)
  if (u.protocol === 'https:' && isS3Host(u.hostname)) return undefined
  if (allowedEndpoints.some((a) => new URL(a).origin === u.origin)) return undefined
  return `the service's default AWS credentials are used only with AWS endpoints, and ${u.origin} is not one: give accessKeyId and secretAccessKey, or have an administrator list the endpoint in S3_DEFAULT_CREDENTIALS_ENDPOINTS`
}

/** An AWS region: us-east-1, eu-central-2, us-gov-west-1, cn-north-1 … */
const REGION = '[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\\d{1,2}'
/**
 * S3's own host names, not every name under amazonaws.com (API Gateway, load balancers and other
 * services there answer for their owners): s3.amazonaws.com and s3(-fips)(.dualstack).REGION or
 * s3-REGION, with a bucket in front (virtual-hosted style); access points; PrivateLink endpoints.
 */
const S3_HOSTS = [
  new RegExp(`^(?:[a-z0-9.-]+\\.)?s3(?:-fips)?(?:\\.dualstack)?(?:[.-]${REGION})?\\.amazonaws\\.com(?:\\.cn)?$`),
  new RegExp(`^(?:[a-z0-9-]+\\.)?s3-accesspoint(?:-fips)?(?:\\.dualstack)?\\.${REGION}\\.amazonaws\\.com(?:\\.cn)?$`),
  new RegExp(`^(?:[a-z0-9.-]+\\.)?vpce-[a-z0-9-]+\\.s3\\.${REGION}\\.vpce\\.amazonaws\\.com(?:\\.cn)?$`),
]

export const isS3Host = (hostname: string): boolean => S3_HOSTS.some((r) => r.test(hostname.toLowerCase().replace(/\.$/, '')))
