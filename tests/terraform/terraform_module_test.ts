/**
 * Static checks of the Terraform in deploy/aws/ (there is no Terraform binary on the build
 * machines, so `terraform validate` and `fmt` cannot run): every file parses with the HCL
 * parser, every reference resolves to a declaration, every variable is typed and
 * described, the versions are pinned, the text is in `terraform fmt` style, and the
 * example calls the module with its real inputs and outputs.
 */
import assert from "node:assert/strict";
import {
  DEPLOY_AWS,
  fmtProblems,
  type HclJson,
  loadModule,
  references,
  stringsIn,
  TERRAFORM_DIRS,
  type TfModule,
} from "./_hcl.ts";

const modules = new Map<string, TfModule>();
for (const dir of TERRAFORM_DIRS) modules.set(dir, await loadModule(dir));

/** The module a `source = "../…"` of `dir` points at, when it is one of ours. */
function sourceModule(dir: string, source: string): TfModule | undefined {
  const target = new URL(`${source}/`, new URL(`${dir}/`, DEPLOY_AWS)).href;
  return [...modules.values()].find((m) => new URL(`${m.dir}/`, DEPLOY_AWS).href === target);
}

/** Every unresolved reference and unknown root in a module, as messages. */
function unresolved(module: TfModule): string[] {
  const problems: string[] = [];
  for (const file of module.files) {
    for (const { text, iterators } of stringsIn(file.json)) {
      for (const expression of interpolationsOf(text)) {
        const found = references(expression, iterators);
        for (const root of found.unknown) {
          problems.push(`${file.path}: "${root}" names nothing (in \${${expression}})`);
        }
        for (const ref of found.references) {
          const declared = ref.kind === "var"
            ? module.variables.has(ref.name)
            : ref.kind === "local"
            ? module.locals.has(ref.name)
            : ref.kind === "data"
            ? module.data.has(ref.name)
            : ref.kind === "resource"
            ? module.resources.has(ref.name)
            : moduleOutputExists(module, ref.name);
          if (!declared) problems.push(`${file.path}: ${ref.kind} "${ref.name}" is not declared`);
        }
      }
    }
  }
  return problems;
}

function interpolationsOf(text: string): string[] {
  const out: string[] = [];
  for (let i = text.indexOf("${"); i !== -1; i = text.indexOf("${", i + 1)) {
    if (text[i - 1] === "$") continue;
    let depth = 0;
    for (let j = i + 1; j < text.length; j++) {
      if (text[j] === "{") depth++;
      if (text[j] === "}" && --depth === 0) {
        out.push(text.slice(i + 2, j));
        break;
      }
    }
  }
  // the outermost ones are enough: nested ones are inside them
  return out.filter((e, i) => !out.slice(0, i).some((outer) => outer.includes(e)));
}

function moduleOutputExists(caller: TfModule, name: string): boolean {
  const [call, output] = name.split(".");
  const body = caller.modules.get(call!);
  if (!body) return false;
  const target = sourceModule(caller.dir, String(body.source));
  return target?.outputs.has(output!) ?? false;
}

Deno.test("deploy/aws: every .tf file parses with the HCL parser and the folders hold the module and the example", () => {
  const module = modules.get("modules/wikistream")!;
  assert.deepEqual(module.files.map((f) => f.path.split("/").at(-1)), [
    "bucket.tf",
    "ecs.tf",
    "efs.tf",
    "iam.tf",
    "iam_user.tf",
    "main.tf",
    "outputs.tf",
    "ssm.tf",
    "variables.tf",
    "versions.tf",
  ]);
  assert.ok(modules.get("example")!.modules.has("wikistream"));
});

Deno.test("deploy/aws: every var., local., data, module and resource reference resolves to a declaration", () => {
  for (const module of modules.values()) assert.deepEqual(unresolved(module), [], module.dir);
});

Deno.test("deploy/aws: the reference check fails on an undeclared name", () => {
  const module = modules.get("modules/wikistream")!;
  const broken: TfModule = {
    ...module,
    files: [{
      path: "broken.tf",
      text: "",
      json: {
        locals: [{
          a: "${var.no_such_variable}",
          b: "${aws_s3_bucket.nope.arn}",
          c: '${lcoal.lake_root}x${"${local.missing}"}',
          d: "${[for s in var.subnet_ids : s.id]}",
        }],
      },
    }],
  };
  assert.deepEqual(unresolved(broken), [
    'broken.tf: var "no_such_variable" is not declared',
    'broken.tf: resource "aws_s3_bucket.nope" is not declared',
    'broken.tf: "lcoal.lake_root" names nothing (in ${lcoal.lake_root})',
    'broken.tf: local "missing" is not declared',
  ]);
});

Deno.test("deploy/aws: every variable has a type and a description", () => {
  for (const module of modules.values()) {
    for (const [name, body] of module.variables) {
      assert.match(
        String(body.type ?? ""),
        /^\$\{.+\}$/,
        `${module.dir}: variable ${name} has a type`,
      );
      assert.ok(
        typeof body.description === "string" && body.description.length > 10,
        `${module.dir}: variable ${name} has a description`,
      );
    }
  }
});

Deno.test("deploy/aws: Terraform and the AWS provider versions are pinned, the same in both folders", () => {
  const pins = [...modules.values()].map((module) => {
    const blocks = module.files.flatMap((f) => (f.json.terraform ?? []) as HclJson[]);
    assert.equal(blocks.length, 1, `${module.dir} has one terraform block`);
    const block = blocks[0]!;
    assert.match(String(block.required_version), /^>= 1\.\d+\.\d+, < 2\.0\.0$/);
    const aws = block.required_providers?.[0]?.aws;
    assert.equal(aws?.source, "hashicorp/aws");
    assert.match(String(aws?.version), /^~> \d+\.\d+$/, "a pessimistic constraint on one major");
    return JSON.stringify(block);
  });
  assert.equal(new Set(pins).size, 1);
});

Deno.test("deploy/aws: files are in terraform fmt style (two-space indents, aligned =, no tabs or trailing spaces)", async () => {
  const problems = [...modules.values()].flatMap((m) =>
    m.files.flatMap((f) => fmtProblems(f.path, f.text))
  );
  const example = "example/terraform.tfvars.example";
  problems.push(...fmtProblems(example, await Deno.readTextFile(new URL(example, DEPLOY_AWS))));
  assert.deepEqual(problems, []);
});

Deno.test("deploy/aws: the fmt check finds misaligned =, tabs, bad indents and trailing spaces", () => {
  const text = [
    'resource "x" "y" {',
    '  a = "1"',
    '  bbb = "2"',
    "\tc = 3",
    "   d = 4 ",
    "  tags = {",
    '    k  = "v"',
    "  }",
    "}",
    "",
  ].join("\n");
  assert.deepEqual(fmtProblems("t.tf", text), [
    "t.tf:4: tab",
    "t.tf:4: indented 1, fmt indents 2",
    "t.tf:5: trailing whitespace",
    "t.tf:5: indented 3, fmt indents 2",
    't.tf:2: "=" at column 5, fmt puts it at 7',
    't.tf:4: "=" at column 4, fmt puts it at 7',
    't.tf:5: "=" at column 6, fmt puts it at 7',
    't.tf:7: "=" at column 8, fmt puts it at 7',
  ]);
});

Deno.test("deploy/aws: the example sets every required module input and only inputs that exist", () => {
  const example = modules.get("example")!;
  for (const [name, call] of example.modules) {
    const target = sourceModule(example.dir, String(call.source));
    assert.ok(target, `module ${name} points at ${call.source}, one of ours`);
    const given = Object.keys(call).filter((k) => k !== "source");
    const unknown = given.filter((k) => !target.variables.has(k));
    assert.deepEqual(unknown, [], `module ${name} sets inputs the module lacks`);
    const required = [...target.variables].filter(([, v]) => !("default" in v)).map(([k]) => k);
    const missing = required.filter((k) => !given.includes(k));
    assert.deepEqual(missing, [], `module ${name} leaves required inputs unset`);
  }
});
