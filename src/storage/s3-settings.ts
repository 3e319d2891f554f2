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
