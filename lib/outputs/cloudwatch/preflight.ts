/**
 * `collect --sink cloudwatch` checks the AWS configuration before it pulls: a missing region or no credentials
 * is a configuration error named at start (exit 2), not a pull followed by a failure on every datum.
 * It resolves what the SDK itself would use (AWS_REGION or the profile's region; the default credential chain)
 * and makes no AWS API call.
 */
import { ConfigError } from '../../config.js';
import { createCloudWatchClient } from './publisher.js';

export async function checkAwsConfiguration(): Promise<void> {
  const client = await createCloudWatchClient();
  try {
    try {
      await client.config.region();
    } catch {
      throw new ConfigError(
        'AWS_REGION',
        'not set (nor a region in the AWS profile); CloudWatch needs a region, e.g. AWS_REGION=us-east-1',
      );
    }
    try {
      await client.config.credentials();
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new ConfigError(
        'AWS credentials',
        `none found by the SDK's default chain (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, SSO, web identity, container or instance role): ${reason}`,
      );
    }
  } finally {
    client.destroy();
  }
}
