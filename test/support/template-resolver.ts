import type { AssemblyStack, TemplateResource } from './cloud-assembly.js';

/** What a resource is once "deployed" locally: its `Ref` value and its `Fn::GetAtt` attributes. */
export interface PhysicalResource {
  ref: string;
  attributes?: Record<string, string>;
}

export interface Pseudo {
  accountId: string;
  region: string;
  partition: string;
  urlSuffix: string;
}

/** Finds a resource's local equivalent; undefined when the local stack has none. */
export type PhysicalLookup = (
  stack: string,
  logicalId: string,
  resource: TemplateResource,
) => PhysicalResource | undefined;

/**
 * Evaluates CloudFormation's intrinsic functions (`Ref`, `Fn::GetAtt`, `Fn::Join`, `Fn::ImportValue`,
 * `Fn::Sub`, `Fn::Select`) as CloudFormation would at deploy time, with each resource replaced by its
 * local equivalent. Strict by default: a reference to something the local stack does not stand up
 * fails naming it (a function's environment must resolve completely). Lenient resolution, for IAM
 * statements, turns such a reference into a string no call can match.
 */
export class TemplateResolver {
  constructor(
    private readonly stacks: AssemblyStack[],
    private readonly physical: PhysicalLookup,
    readonly pseudo: Pseudo,
  ) {}

  resolve(value: unknown, stack: string, options: { lenient?: boolean } = {}): unknown {
    if (Array.isArray(value)) return value.map((v) => this.resolve(v, stack, options));
    if (!value || typeof value !== 'object') return value;
    const entries = Object.entries(value as Record<string, unknown>);
    const [first] = entries;
    if (entries.length === 1 && first && (first[0] === 'Ref' || first[0].startsWith('Fn::'))) {
      return this.intrinsic(first[0], first[1], stack, options);
    }
    return Object.fromEntries(entries.map(([k, v]) => [k, this.resolve(v, stack, options)]));
  }

  resolveString(value: unknown, stack: string, options: { lenient?: boolean } = {}): string {
    const resolved = this.resolve(value, stack, options);
    if (typeof resolved !== 'string' && typeof resolved !== 'number' && typeof resolved !== 'boolean') {
      throw new Error(`${stack}: ${JSON.stringify(value)} does not resolve to a string`);
    }
    return String(resolved);
  }

  private intrinsic(name: string, arg: unknown, stack: string, options: { lenient?: boolean }): unknown {
    switch (name) {
      case 'Ref':
        return this.ref(String(arg), stack, options);
      case 'Fn::GetAtt': {
        const [id, attribute] = Array.isArray(arg) ? arg.map(String) : String(arg).split(/\.(.*)/s);
        return this.getAtt(String(id), String(attribute), stack, options);
      }
      case 'Fn::Join': {
        const [separator, parts] = arg as [string, unknown[]];
        return (this.resolve(parts, stack, options) as unknown[]).map(String).join(separator);
      }
      case 'Fn::Select': {
        const [index, list] = arg as [unknown, unknown];
        const items = this.resolve(list, stack, options) as unknown[];
        return items[Number(this.resolve(index, stack, options))];
      }
      case 'Fn::Split': {
        const [separator, text] = arg as [string, unknown];
        return this.resolveString(text, stack, options).split(separator);
      }
      case 'Fn::ImportValue':
        return this.importValue(this.resolveString(arg, stack, options), options);
      case 'Fn::Sub': {
        const [text, variables] = Array.isArray(arg)
          ? (arg as [string, Record<string, unknown>])
          : [String(arg), {}];
        return text.replace(/\$\{([^}!][^}]*)\}/g, (_, expression: string) => {
          if (expression in variables) return this.resolveString(variables[expression], stack, options);
          const [id, attribute] = expression.split(/\.(.*)/s);
          return attribute
            ? String(this.getAtt(String(id), attribute, stack, options))
            : String(this.ref(String(id), stack, options));
        });
      }
      default:
        throw new Error(`${stack}: the bundle tests cannot evaluate ${name}`);
    }
  }

  private resource(id: string, stack: string): TemplateResource {
    const resource = this.template(stack).Resources[id];
    if (!resource) throw new Error(`${stack}: no resource ${id}`);
    return resource;
  }

  private template(stack: string) {
    const found = this.stacks.find((s) => s.name === stack);
    if (!found) throw new Error(`no stack ${stack} in the assembly`);
    return found.template;
  }

  private ref(id: string, stack: string, options: { lenient?: boolean }): string {
    const pseudo: Record<string, string> = {
      'AWS::AccountId': this.pseudo.accountId,
      'AWS::Region': this.pseudo.region,
      'AWS::Partition': this.pseudo.partition,
      'AWS::URLSuffix': this.pseudo.urlSuffix,
      'AWS::StackName': stack,
    };
    if (id in pseudo) return pseudo[id] as string;
    const resource = this.resource(id, stack);
    const local = this.physical(stack, id, resource);
    if (local) return local.ref;
    return this.unresolved(`Ref ${id} (${resource.Type})`, stack, options);
  }

  private getAtt(id: string, attribute: string, stack: string, options: { lenient?: boolean }): string {
    const resource = this.resource(id, stack);
    const value = this.physical(stack, id, resource)?.attributes?.[attribute];
    if (value !== undefined) return value;
    return this.unresolved(`Fn::GetAtt ${id}.${attribute} (${resource.Type})`, stack, options);
  }

  private importValue(name: string, options: { lenient?: boolean }): unknown {
    for (const { name: stack, template } of this.stacks) {
      for (const output of Object.values(template.Outputs ?? {})) {
        if (output.Export && this.resolve(output.Export.Name, stack) === name) {
          return this.resolve(output.Value, stack, options);
        }
      }
    }
    throw new Error(`Fn::ImportValue ${name}: no stack of the assembly exports it`);
  }

  private unresolved(what: string, stack: string, options: { lenient?: boolean }): string {
    if (options.lenient) return `unresolved:${stack}:${what}`;
    throw new Error(`${stack}: ${what} has no local equivalent in the bundle tests`);
  }
}
