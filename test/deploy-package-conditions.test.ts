/**
 * deploy/package-conditions.cjs, the local osls plugin that leaves switched-off resources out of the template,
 * on a stand-in for the framework's `serverless` object (the packaged templates: test/deploy-options.test.ts).
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import type { Json } from './support/template.js';

const require = createRequire(import.meta.url);
const PackageConditions = require('../deploy/package-conditions.cjs') as {
  new (serverless: Json): { hooks: Record<string, () => void> };
  evaluate(name: string, spec: unknown): boolean;
  references(value: unknown): Set<string>;
};

class FrameworkError extends Error {}

function serverless(custom: Json, template: Json = { Resources: {}, Outputs: {} }, functions: Json = {}): Json {
  return {
    classes: { Error: FrameworkError },
    service: { custom, functions, provider: { compiledCloudFormationTemplate: template } },
  };
}

describe('conditions', () => {
  it.each([
    [true, true],
    [false, false],
    [{ equals: [true, 'true'] }, true],
    [{ equals: ['', ''] }, true],
    [{ notEquals: ['', ''] }, false],
    [{ notEquals: ['oncall@example.com', ''] }, true],
    [{ matches: ['create', '^(|create)$'] }, true],
    [{ matches: ['alias/aws/sns', '^(|create)$'] }, false],
  ])('%j is %s', (spec, value) => {
    expect(PackageConditions.evaluate('X', spec)).toBe(value);
  });

  it.each([{ equals: ['a'] }, { same: ['a', 'b'] }, 'true', null])('refuses %j, naming the condition', (spec) => {
    expect(() => PackageConditions.evaluate('HasThing', spec)).toThrow(/^packageConditions\.HasThing: /);
  });
});

describe('functions', () => {
  it('removes a function whose condition is false, and keeps one whose condition is true without a CloudFormation condition', () => {
    // Prepare
    const functions = {
      metrics: { handler: 'm', condition: 'Endpoint' },
      collect: { handler: 'c', condition: 'Always' },
      other: { handler: 'o', condition: 'CfnOwn' },
    };
    const plugin = new PackageConditions(
      serverless({ packageConditions: { Endpoint: false, Always: true } }, undefined, functions),
    );

    // Act
    plugin.hooks.initialize?.();

    // Assess
    expect(functions).toEqual({ collect: { handler: 'c' }, other: { handler: 'o', condition: 'CfnOwn' } });
  });
});

describe('template', () => {
  function template(): Json {
    return {
      Conditions: { CfnOwn: { 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'us-east-1'] } },
      Resources: {
        Topic: {
          Type: 'AWS::SNS::Topic',
          Properties: {
            KmsMasterKeyId: { 'Fn::If': ['Key', { 'Fn::GetAtt': ['TopicKey', 'Arn'] }, { Ref: 'AWS::NoValue' }] },
          },
        },
        TopicKey: { Type: 'AWS::KMS::Key', Condition: 'Key', Properties: {} },
        Subscription: {
          Type: 'AWS::SNS::Subscription',
          Condition: 'Email',
          Properties: { TopicArn: { Ref: 'Topic' } },
        },
        Regional: {
          Type: 'AWS::SNS::Topic',
          Condition: 'CfnOwn',
          Properties: { Tags: [{ 'Fn::If': ['Email', 'a', { Ref: 'AWS::NoValue' }] }, 'b'] },
        },
      },
      Outputs: {
        KeyArn: { Condition: 'Key', Value: { 'Fn::GetAtt': ['TopicKey', 'Arn'] } },
        TopicArn: { Value: { Ref: 'Topic' } },
      },
    };
  }

  it('removes resources and outputs whose condition is false and resolves Fn::If, leaving CloudFormation its own conditions', () => {
    // Prepare
    const t = template();
    const plugin = new PackageConditions(serverless({ packageConditions: { Key: false, Email: true } }, t));

    // Act
    plugin.hooks['before:aws:package:finalize:saveServiceState']?.();

    // Assess
    expect(t).toEqual({
      Conditions: { CfnOwn: { 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'us-east-1'] } },
      Resources: {
        Topic: { Type: 'AWS::SNS::Topic', Properties: {} },
        Subscription: { Type: 'AWS::SNS::Subscription', Properties: { TopicArn: { Ref: 'Topic' } } },
        Regional: { Type: 'AWS::SNS::Topic', Condition: 'CfnOwn', Properties: { Tags: ['a', 'b'] } },
      },
      Outputs: { TopicArn: { Value: { Ref: 'Topic' } } },
    });
  });

  it('keeps a resource whose condition is true, and the branch that names it', () => {
    // Prepare
    const t = template();
    const plugin = new PackageConditions(serverless({ packageConditions: { Key: true, Email: false } }, t));

    // Act
    plugin.hooks['before:aws:package:finalize:saveServiceState']?.();

    // Assess
    expect(t.Resources.TopicKey).toEqual({ Type: 'AWS::KMS::Key', Properties: {} });
    expect(t.Resources.Topic.Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': ['TopicKey', 'Arn'] });
    expect(t.Resources.Subscription).toBeUndefined();
    expect(t.Resources.Regional.Properties.Tags).toEqual(['b']);
    expect(t.Outputs.KeyArn).toEqual({ Value: { 'Fn::GetAtt': ['TopicKey', 'Arn'] } });
  });

  it('fails packaging when something still refers to a removed resource (Ref, GetAtt, Fn::Sub, DependsOn)', () => {
    // Prepare
    const t = template();
    t.Resources.Alarm = {
      Type: 'AWS::CloudWatch::Alarm',
      DependsOn: 'TopicKey',
      Properties: { Description: { 'Fn::Sub': ['${TopicKey.Arn} ${Local}', { Local: { Ref: 'Topic' } }] } },
    };
    const plugin = new PackageConditions(serverless({ packageConditions: { Key: false, Email: true } }, t));

    // Act
    let error: unknown;
    try {
      plugin.hooks['before:aws:package:finalize:saveServiceState']?.();
    } catch (e) {
      error = e;
    }

    // Assess
    expect(error).toBeInstanceOf(FrameworkError);
    expect((error as Error).message).toMatch(/removed resources still referenced: Resources\.Alarm → TopicKey$/);
  });

  it('finds the references of Ref, GetAtt and Fn::Sub (not its own variables, nor pseudo parameters)', () => {
    expect(
      [
        ...PackageConditions.references({
          a: { Ref: 'A' },
          b: [{ 'Fn::GetAtt': ['B', 'Arn'] }, { 'Fn::GetAtt': 'C.Arn' }],
          c: { 'Fn::Sub': ['${D.Arn}${AWS::Region}${Local}', { Local: { Ref: 'E' } }] },
        }),
      ].sort(),
    ).toEqual(['A', 'B', 'C', 'D', 'E']);
  });

  it('stops packaging with the message of a failed check', () => {
    // Prepare
    const plugin = new PackageConditions(
      serverless({
        packageChecks: [
          { message: 'alarmTopicKmsKey: no aliases', valid: { matches: ['alias/aws/sns', '^(|create)$'] } },
        ],
      }),
    );

    // Act
    const run = () => plugin.hooks.initialize?.();

    // Assess
    expect(run).toThrow(FrameworkError);
    expect(run).toThrow('alarmTopicKmsKey: no aliases');
  });
});
