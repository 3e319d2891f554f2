/**
 * The error codes Azure Blob Storage and S3 answer with, from their documentation ("Common REST API
 * error codes" and "Blob service error codes"; "Amazon S3 error responses"). An answer's own
 * message is shown only when it comes in the store's error format with one of these codes: an
 * endpoint pointed at some other service (a database, an intranet page) gets its status shown, never
 * what it said. A code missing here costs only the message of a real store's error, not its class.
 */

export const AZURE_BLOB_CODES: ReadonlySet<string> = new Set([
  // common
  'AccountAlreadyExists', 'AccountBeingCreated', 'AccountIsDisabled', 'AuthenticationFailed', 'AuthorizationFailure',
  'AuthorizationPermissionMismatch', 'AuthorizationProtocolMismatch', 'AuthorizationResourceTypeMismatch',
  'AuthorizationServiceMismatch', 'AuthorizationSourceIPMismatch', 'ConditionHeadersNotSupported', 'ConditionNotMet',
  'EmptyMetadataKey', 'FeatureVersionMismatch', 'InsufficientAccountPermissions', 'InternalError', 'InvalidAuthenticationInfo',
  'InvalidHeaderValue', 'InvalidHttpVerb', 'InvalidInput', 'InvalidMd5', 'InvalidMetadata', 'InvalidQueryParameterValue',
  'InvalidRange', 'InvalidResourceName', 'InvalidUri', 'InvalidXmlDocument', 'InvalidXmlNodeValue', 'Md5Mismatch',
  'MetadataTooLarge', 'MissingContentLengthHeader', 'MissingRequiredHeader', 'MissingRequiredQueryParameter',
  'MissingRequiredXmlNode', 'MultipleConditionHeadersNotSupported', 'NoAuthenticationInformation', 'OperationTimedOut',
  'OutOfRangeInput', 'OutOfRangeQueryParameterValue', 'RequestBodyTooLarge', 'RequestUrlFailedToParse',
  'ResourceAlreadyExists', 'ResourceNotFound', 'ResourceTypeMismatch', 'ServerBusy', 'UnsupportedHeader',
  'UnsupportedHttpVerb', 'UnsupportedQueryParameter', 'UnsupportedXmlNode', 'KeyVaultAccessTokenCannotBeAcquired',
  'KeyVaultEncryptionKeyNotFound', 'KeyVaultVaultNotFound', 'AccountNotFound',
  // blob service
  'AppendPositionConditionNotMet', 'BlobAlreadyExists', 'BlobArchived', 'BlobBeingRehydrated', 'BlobImmutableDueToPolicy',
  'BlobNotArchived', 'BlobNotFound', 'BlobOverwritten', 'BlobTierInadequateForContentLength',
  'BlobUsesCustomerSpecifiedEncryption', 'BlockCountExceedsLimit', 'BlockListTooLong', 'CannotChangeToLowerTier',
  'CannotVerifyCopySource', 'ContainerAlreadyExists', 'ContainerBeingDeleted', 'ContainerDisabled', 'ContainerNotFound',
  'ContentLengthLargerThanTierLimit', 'CopyAcrossAccountsNotSupported', 'CopyIdMismatch', 'Crc64Mismatch',
  'IncrementalCopyBlobMismatch', 'IncrementalCopyOfEarlierVersionSnapshotNotAllowed', 'IncrementalCopySourceMustBeSnapshot',
  'InfiniteLeaseDurationRequired', 'InvalidBlobOrBlock', 'InvalidBlobTier', 'InvalidBlobType', 'InvalidBlockId',
  'InvalidBlockList', 'InvalidOperation', 'InvalidPageRange', 'InvalidSourceBlobType', 'InvalidSourceBlobUrl',
  'InvalidVersionForPageBlobOperation', 'LeaseAlreadyBroken', 'LeaseAlreadyPresent', 'LeaseIdMismatchWithBlobOperation',
  'LeaseIdMismatchWithContainerOperation', 'LeaseIdMismatchWithLeaseOperation', 'LeaseIdMissing',
  'LeaseIsBreakingAndCannotBeAcquired', 'LeaseIsBreakingAndCannotBeChanged', 'LeaseIsBrokenAndCannotBeRenewed', 'LeaseLost',
  'LeaseNotPresentWithBlobOperation', 'LeaseNotPresentWithContainerOperation', 'LeaseNotPresentWithLeaseOperation',
  'MaxBlobSizeConditionNotMet', 'NoPendingCopyOperation', 'OperationNotAllowedOnIncrementalCopyBlob', 'PendingCopyOperation',
  'PreviousSnapshotCannotBeNewer', 'PreviousSnapshotNotFound', 'PreviousSnapshotOperationNotSupported',
  'SequenceNumberConditionNotMet', 'SequenceNumberIncrementTooLarge', 'SnapshotCountExceeded', 'SnapshotOperationRateExceeded',
  'SnapshotsPresent', 'SourceConditionNotMet', 'SystemInUse', 'TargetConditionNotMet', 'UnauthorizedBlobOverwrite',
])

export const S3_CODES: ReadonlySet<string> = new Set([
  'AccessControlListNotSupported', 'AccessDenied', 'AccessPointAlreadyOwnedByYou', 'AccountProblem', 'AllAccessDisabled',
  'AmbiguousGrantByEmailAddress', 'AuthorizationHeaderMalformed', 'AuthorizationQueryParametersError', 'BadDigest',
  'BucketAlreadyExists', 'BucketAlreadyOwnedByYou', 'BucketNotEmpty', 'Busy', 'ClientTokenConflict',
  'ConditionalRequestConflict', 'CredentialsNotSupported', 'CrossLocationLoggingProhibited', 'EntityTooLarge', 'EntityTooSmall',
  'ExpiredToken', 'IllegalLocationConstraintException', 'IllegalVersioningConfigurationException', 'IncompleteBody',
  'IncorrectNumberOfFilesInPostRequest', 'InlineDataTooLarge', 'InternalError', 'InvalidAccessKeyId', 'InvalidAccessPoint',
  'InvalidAccessPointAliasError', 'InvalidAddressingHeader', 'InvalidArgument', 'InvalidBucketAclWithObjectOwnership',
  'InvalidBucketName', 'InvalidBucketState', 'InvalidChecksum', 'InvalidDigest', 'InvalidEncryptionAlgorithmError',
  'InvalidLocationConstraint', 'InvalidObjectState', 'InvalidPart', 'InvalidPartOrder', 'InvalidPayer', 'InvalidPolicyDocument',
  'InvalidRange', 'InvalidRequest', 'InvalidSecurity', 'InvalidSOAPRequest', 'InvalidStorageClass', 'InvalidTag',
  'InvalidTargetBucketForLogging', 'InvalidToken', 'InvalidURI', 'KeyTooLongError', 'MalformedACLError', 'MalformedPolicy',
  'MalformedPOSTRequest', 'MalformedXML', 'MaxMessageLengthExceeded', 'MaxPostPreDataLengthExceededError', 'MetadataTooLarge',
  'MethodNotAllowed', 'MissingAttachment', 'MissingContentLength', 'MissingRequestBodyError', 'MissingSecurityElement',
  'MissingSecurityHeader', 'NoLoggingStatusForKey', 'NoSuchAccessPoint', 'NoSuchBucket', 'NoSuchBucketPolicy',
  'NoSuchCORSConfiguration', 'NoSuchKey', 'NoSuchLifecycleConfiguration', 'NoSuchMultiRegionAccessPoint', 'NoSuchTagSet',
  'NoSuchUpload', 'NoSuchVersion', 'NotImplemented', 'NotModified', 'NotSignedUp', 'ObjectLockConfigurationNotFoundError',
  'OperationAborted', 'OwnershipControlsNotFoundError', 'PermanentRedirect', 'PreconditionFailed', 'Redirect',
  'RequestHeaderSectionTooLarge', 'RequestIsNotMultiPartContent', 'RequestTimeout', 'RequestTimeTooSkewed',
  'RequestTorrentOfBucketError', 'RestoreAlreadyInProgress', 'ServerSideEncryptionConfigurationNotFoundError',
  'ServiceUnavailable', 'SignatureDoesNotMatch', 'SlowDown', 'TemporaryRedirect', 'TokenRefreshRequired', 'TooManyAccessPoints',
  'TooManyBuckets', 'TooManyMultiRegionAccessPoints', 'UnexpectedContent', 'UnresolvableGrantByEmailAddress',
  'UserKeyMustBeSpecified', 'XAmzContentSHA256Mismatch',
])
