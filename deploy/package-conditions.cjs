'use strict';
/**
 * Conditions decided when packaging (a local osls / Serverless Framework plugin, listed in serverless.yml).
 *
 * The stage's params are constants once `osls package` resolved them, so a CloudFormation condition on them
 * (`Fn::Equals` of two literals) is only a switch left in the template: cfn-lint flags it (W8003), and a security
 * reviewer still reads a function URL with public permissions in a template that "does not deploy" it. Here the
 * resources are left out of the template instead:
 *
 *   custom:
 *     packageConditions:
 *       PrometheusEndpoint: { equals: [true, '${param:prometheusEndpoint}'] }   # also: notEquals, matches
 *     packageChecks:
 *       - { message: 'alarmTopicKmsKey: ...', valid: { matches: ['${param:alarmTopicKmsKey}', '^(|create)$'] } }
 *
 * - a function with `condition: <name>` is removed before anything is packaged when the condition is false (no
 *   zip, no log group, no URL, no permissions), and kept without a CloudFormation condition when it is true;
 * - a resource or output with `Condition: <name>` is removed or kept the same way;
 * - `Fn::If: [<name>, a, b]` anywhere becomes a or b (`Ref: AWS::NoValue` removes the property or list item);
 * - a `packageChecks` entry whose `valid` is false stops packaging with its message.
 * Names not listed under packageConditions are left to CloudFormation. Last, no Ref, GetAtt or Fn::Sub may name a
 * resource that was removed (packaging fails, naming them).
 */

const NO_VALUE = Symbol('AWS::NoValue');

function evaluate(name, spec) {
  if (typeof spec === 'boolean') return spec;
  const [op, args] = Object.entries(spec ?? {})[0] ?? [];
  if (!Array.isArray(args) || args.length !== 2) {
    throw new Error(
      `packageConditions.${name}: expected a boolean or { equals | notEquals | matches: [a, b] }, got ${JSON.stringify(spec)}`,
    );
  }
  const [a, b] = args;
  switch (op) {
    case 'equals':
      return String(a) === String(b);
    case 'notEquals':
      return String(a) !== String(b);
    case 'matches':
      return new RegExp(String(b)).test(String(a));
    default:
      throw new Error(`packageConditions.${name}: unknown operator ${JSON.stringify(op)} (equals, notEquals, matches)`);
  }
}

/** Every logical id a value refers to (Ref, Fn::GetAtt, Fn::Sub ${X} / ${X.Attr}). */
function references(value, out = new Set()) {
  if (Array.isArray(value)) {
    for (const v of value) references(v, out);
  } else if (value !== null && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      if (key === 'Ref' && typeof v === 'string') out.add(v);
      else if (key === 'Fn::GetAtt') out.add(Array.isArray(v) ? v[0] : String(v).split('.')[0]);
      else if (key === 'Fn::Sub') {
        const text = Array.isArray(v) ? v[0] : v;
        const locals = Array.isArray(v) ? new Set(Object.keys(v[1] ?? {})) : new Set();
        for (const m of String(text).matchAll(/\$\{([^}!]+)\}/g)) {
          const id = m[1].split('.')[0];
          if (!locals.has(id) && !id.startsWith('AWS::')) out.add(id);
        }
        if (Array.isArray(v)) references(v[1], out);
      } else references(v, out);
    }
  }
  return out;
}

class PackageConditions {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = {
      // Before anything is packaged or compiled: a removed function gets no zip, log group, URL or permission.
      initialize: () => this.applyToFunctions(),
      // After the framework merged serverless.yml's resources into its template, before it is written.
      'before:aws:package:finalize:saveServiceState': () => this.applyToTemplate(),
    };
  }

  get custom() {
    return this.serverless.service.custom ?? {};
  }

  conditions() {
    if (this.resolved === undefined) {
      for (const check of this.custom.packageChecks ?? []) {
        if (!evaluate('packageChecks', check.valid)) throw new this.serverless.classes.Error(check.message);
      }
      this.resolved = new Map(
        Object.entries(this.custom.packageConditions ?? {}).map(([name, spec]) => [name, evaluate(name, spec)]),
      );
    }
    return this.resolved;
  }

  applyToFunctions() {
    const conditions = this.conditions();
    const functions = this.serverless.service.functions ?? {};
    for (const [name, fn] of Object.entries(functions)) {
      if (fn?.condition === undefined || !conditions.has(fn.condition)) continue;
      if (conditions.get(fn.condition)) delete fn.condition;
      else delete functions[name];
    }
  }

  /** The value with every Fn::If on a package condition chosen; NO_VALUE for AWS::NoValue. */
  resolve(value) {
    const conditions = this.conditions();
    if (Array.isArray(value)) return value.map((v) => this.resolve(v)).filter((v) => v !== NO_VALUE);
    if (value === null || typeof value !== 'object') return value;
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === 'Ref' && value.Ref === 'AWS::NoValue') return NO_VALUE;
    if (keys.length === 1 && keys[0] === 'Fn::If' && conditions.has(value['Fn::If'][0])) {
      const [name, whenTrue, whenFalse] = value['Fn::If'];
      return this.resolve(conditions.get(name) ? whenTrue : whenFalse);
    }
    const out = {};
    for (const [key, v] of Object.entries(value)) {
      const resolved = this.resolve(v);
      if (resolved !== NO_VALUE) out[key] = resolved;
    }
    return out;
  }

  applyToTemplate() {
    const conditions = this.conditions();
    const template = this.serverless.service.provider.compiledCloudFormationTemplate;
    const removed = new Set();
    for (const section of ['Resources', 'Outputs']) {
      for (const [id, entry] of Object.entries(template[section] ?? {})) {
        if (entry.Condition === undefined || !conditions.has(entry.Condition)) continue;
        if (conditions.get(entry.Condition)) delete entry.Condition;
        else {
          delete template[section][id];
          if (section === 'Resources') removed.add(id);
        }
      }
    }
    for (const section of ['Resources', 'Outputs']) {
      for (const [id, entry] of Object.entries(template[section] ?? {})) template[section][id] = this.resolve(entry);
    }
    for (const name of conditions.keys()) if (template.Conditions) delete template.Conditions[name];
    if (template.Conditions && Object.keys(template.Conditions).length === 0) delete template.Conditions;
    const dangling = [];
    for (const section of ['Resources', 'Outputs']) {
      for (const [id, entry] of Object.entries(template[section] ?? {})) {
        const dependsOn = [entry.DependsOn ?? []].flat();
        for (const ref of new Set([...references(entry), ...dependsOn]))
          if (removed.has(ref)) dangling.push(`${section}.${id} → ${ref}`);
      }
    }
    if (dangling.length > 0) {
      throw new this.serverless.classes.Error(
        `package conditions removed resources still referenced: ${dangling.join(', ')}`,
      );
    }
  }
}

module.exports = PackageConditions;
module.exports.evaluate = evaluate;
module.exports.references = references;
