/**
 * PutMetricData limits, as CloudWatch enforces them. The emulator used in tests (moto) validates none of
 * them, so the exporter checks every datum against these before sending (see `validateDatum`).
 *
 * Sources:
 * - [API] PutMetricData API reference:
 *   https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricData.html
 * - [DIM] Dimension data type:
 *   https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_Dimension.html
 * - [DATUM] MetricDatum data type:
 *   https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricDatum.html
 * - [QUOTAS] CloudWatch service quotas:
 *   https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_limits.html
 * - [CONCEPTS] CloudWatch concepts (metrics, dimensions, values):
 *   https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html
 */

/** [API][QUOTAS] "The array can include no more than 1000 metrics per call." */
export const MAX_DATUMS_PER_REQUEST = 1_000 as const;

/** [API][QUOTAS] "Each PutMetricData request is limited to 1 MB in size for HTTP POST requests." */
export const MAX_REQUEST_BYTES = 1_048_576 as const;

/**
 * What the publisher packs a request up to, by its own estimate of the JSON body (uncompressed, before any
 * gzip): a 10% margin under MAX_REQUEST_BYTES for the envelope, headers and estimation slack.
 */
export const SAFE_REQUEST_BYTES = 943_718 as const;

/** [API][DATUM] "You can include up to 150 unique values in each PutMetricData action that specifies a Values array." */
export const MAX_VALUES_PER_DATUM = 150 as const;

/** [DATUM] "If you include a Counts array, it must include the same amount of values as the Values array." */
export const COUNTS_MATCH_VALUES = true as const;

/** [API][QUOTAS] Dimensions per metric: 30. */
export const MAX_DIMENSIONS_PER_DATUM = 30 as const;

/** [DIM] Dimension Name: "Length Constraints: Minimum length of 1. Maximum length of 255." */
export const DIMENSION_NAME_LENGTH = { min: 1, max: 255 } as const;

/** [DIM] Dimension Value: "Length Constraints: Minimum length of 1. Maximum length of 1024." */
export const DIMENSION_VALUE_LENGTH = { min: 1, max: 1_024 } as const;

/** [DATUM] MetricName: "Length Constraints: Minimum length of 1. Maximum length of 255." */
export const METRIC_NAME_LENGTH = { min: 1, max: 255 } as const;

/**
 * [DIM][CONCEPTS] Dimension names and values, metric names and namespaces: ASCII only, no control characters,
 * at least one non-whitespace character; a dimension name cannot start with a colon.
 * Printable ASCII is U+0020..U+007E.
 */
export const ASCII_PRINTABLE = /^[\x20-\x7e]*$/;
export const DIMENSION_NAME_FORBIDDEN_PREFIX = ':' as const;

/**
 * [DATUM][CONCEPTS] "CloudWatch rejects values that are either too small or too large. Values must be in the range
 * of 8.515920e-109 to 1.174271e+108 (Base 10) or 2e-360 to 2e360 (Base 2). In addition, special values (for
 * example, NaN, +Infinity, -Infinity) are not supported." Zero is allowed; the range applies to the magnitude.
 */
export const VALUE_RANGE = { minMagnitude: 8.51592e-109, maxMagnitude: 1.174271e108 } as const;

/**
 * [API] Data points may carry time stamps as old as two weeks and up to two hours in the future; anything
 * outside is rejected (and data older than 24 h can take 48 h to become visible to GetMetricData).
 */
export const TIMESTAMP_WINDOW_MS = { past: 14 * 24 * 3_600_000, future: 2 * 3_600_000 } as const;

/** [DATUM] StorageResolution: "Valid values are 1 and 60." */
export const STORAGE_RESOLUTIONS = [1, 60] as const;

/** [DATUM] Unit: the StandardUnit enumeration. */
export const STANDARD_UNITS = [
  'Seconds',
  'Microseconds',
  'Milliseconds',
  'Bytes',
  'Kilobytes',
  'Megabytes',
  'Gigabytes',
  'Terabytes',
  'Bits',
  'Kilobits',
  'Megabits',
  'Gigabits',
  'Terabits',
  'Percent',
  'Count',
  'Bytes/Second',
  'Kilobytes/Second',
  'Megabytes/Second',
  'Gigabytes/Second',
  'Terabytes/Second',
  'Bits/Second',
  'Kilobits/Second',
  'Megabits/Second',
  'Gigabits/Second',
  'Terabits/Second',
  'Count/Second',
  'None',
] as const;

/**
 * [API] Namespace: "Length Constraints: Minimum length of 1. Maximum length of 255."; ASCII, no control
 * characters; must not begin with "AWS/" (reserved for AWS services).
 */
export const NAMESPACE_LENGTH = { min: 1, max: 255 } as const;
export const NAMESPACE_RESERVED_PREFIX = 'AWS/' as const;
