/** Which endpoints the service's own AWS credentials may sign for: S3's host names, not all of amazonaws.com. */
import { describe, expect, it } from 'vitest'
import { defaultCredentialsProblem, isS3Host } from '../../src/storage/s3-settings.js'

describe('S3 host names', () => {
  it.each([
    's3.amazonaws.com',
    's3.eu-central-1.amazonaws.com',
    's3-eu-west-1.amazonaws.com',
    'lake.s3.us-east-2.amazonaws.com',
    'lake.s3.amazonaws.com',
    'my.dotted.bucket.s3.us-west-2.amazonaws.com',
    's3-fips.us-gov-west-1.amazonaws.com',
    's3.dualstack.ap-southeast-2.amazonaws.com',
    's3-fips.dualstack.us-east-1.amazonaws.com',
    'ap-123456789012.s3-accesspoint.eu-west-1.amazonaws.com',
    's3-accesspoint.dualstack.us-east-1.amazonaws.com',
    'bucket.vpce-1a2b3c4d-5e6f.s3.us-east-1.vpce.amazonaws.com',
    's3.cn-north-1.amazonaws.com.cn',
    'S3.EU-CENTRAL-1.AMAZONAWS.COM.',
  ])('%s is S3', (host) => expect(isS3Host(host)).toBe(true))

  it.each([
    'abc123.execute-api.us-east-1.amazonaws.com',
    'my-lb-1234.us-east-1.elb.amazonaws.com',
    'ec2-1-2-3-4.compute-1.amazonaws.com',
    'sqs.us-east-1.amazonaws.com',
    'lake.s3-website-us-east-1.amazonaws.com',
    'lake.s3-website.eu-central-1.amazonaws.com',
    's3.evil.amazonaws.com',
    'evil-s3.us-east-1.amazonaws.com',
    's3.amazonaws.com.evil.example',
    'amazonaws.com',
  ])('%s is not', (host) => expect(isS3Host(host)).toBe(false))

  it('lets the default credentials sign for https S3 endpoints and the listed ones only', () => {
    expect(defaultCredentialsProblem({ endpoint: 'https://s3.eu-central-1.amazonaws.com' }, [])).toBeUndefined()
    expect(defaultCredentialsProblem({ endpoint: 'https://abc123.execute-api.us-east-1.amazonaws.com' }, [])).toContain(
      'S3_DEFAULT_CREDENTIALS_ENDPOINTS',
    )
    expect(defaultCredentialsProblem({ endpoint: 'http://s3.eu-central-1.amazonaws.com' }, [])).toContain('is not one')
    expect(defaultCredentialsProblem({ endpoint: 'https://minio.corp.example:9000' }, ['https://minio.corp.example:9000'])).toBeUndefined()
    expect(
      defaultCredentialsProblem({ endpoint: 'https://abc123.execute-api.us-east-1.amazonaws.com', accessKeyId: 'AKIA' }, []),
    ).toBeUndefined()
  })
})
