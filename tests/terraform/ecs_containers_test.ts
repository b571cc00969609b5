/**
 * The ECS container definitions of deploy/aws/modules/wikistream/ecs.tf checked against the
 * programs, as tests/repo/docker_compose_test.ts checks compose: each entryPoint is its
 * deno.json task without --env-file (so also the Dockerfile's ENTRYPOINT), every
 * environment name is an option of that program, secrets are `ssm:` references to the
 * module's parameters, stop timeouts exceed the drain bounds, the health check asks the
 * metrics port's /healthz, and the outputs are named after the options they set.
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { envNames, isSecretName, type OptionSpecs } from "../../lib/cli/config.ts";
import { LOG_OPTIONS } from "../../lib/cli/program.ts";
import { CONSUMER_OPTIONS } from "../../lib/consumer/consumer_config.ts";
import { METRICS_OPTIONS } from "../../lib/metrics/metrics_options.ts";
import { LAKE_STORE_OPTIONS } from "../../lib/object_store/lake_store_options.ts";
import { PRODUCER_OPTIONS } from "../../lib/producer/producer_config.ts";
import { PROGRAM_PROFILES } from "../../lib/launcher/program_permissions.ts";
import { type HclJson, loadModule } from "./_hcl.ts";

const ROOT = new URL("../../", import.meta.url);
const module = await loadModule("modules/wikistream");

/** The option specs of each program run on ECS. */
const PROGRAM_SPECS: Record<string, OptionSpecs> = {
  producer: { ...PRODUCER_OPTIONS, ...METRICS_OPTIONS, ...LOG_OPTIONS },
  consumer: { ...CONSUMER_OPTIONS, ...METRICS_OPTIONS, ...LOG_OPTIONS },
};

function local(name: string): HclJson {
  const value = module.locals.get(name);
  assert.ok(value !== undefined, `ecs.tf has local.${name}`);
  return value as HclJson;
}

/** The deno.json task command that launches `program`, without `--env-file`, as argv. */
async function taskArgv(program: string): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  const task = config.tasks[PROGRAM_PROFILES[program]!.task] as string | { command: string };
  const command = typeof task === "string" ? task : task.command;
  return command.trim().split(/\s+/).filter((arg) => !arg.startsWith("--env-file"));
}

/** The longest stop a program allows after SIGTERM (as docker_compose_test.ts computes it). */
async function drainBoundMs(program: string): Promise<number> {
  const source = await Deno.readTextFile(new URL("lib/cli/program.ts", ROOT));
  const bounds = [...source.matchAll(/options\.drainTimeoutMs \?\? ([\d_]+)/g)].map((m) =>
    Number(m[1]!.replaceAll("_", ""))
  );
  assert.ok(bounds.length > 0, "lib/cli/program.ts has a default drainTimeoutMs");
  const entry = await Deno.readTextFile(new URL(PROGRAM_PROFILES[program]!.entry, ROOT));
  for (const m of entry.matchAll(/drainTimeoutMs:\s*([^,}\n]+)/g)) {
    assert.match(m[1]!.trim(), /^[\d_]+$/, `${program} passes a literal drainTimeoutMs`);
    bounds.push(Number(m[1]!.trim().replaceAll("_", "")));
  }
  for (const spec of Object.values(PROGRAM_SPECS[program]!)) {
    if (/DRAIN_TIMEOUT/.test(spec.env) && typeof spec.default === "number") {
      bounds.push(spec.default);
    }
  }
  return Math.max(...bounds);
}

for (const program of ["producer", "consumer"]) {
  Deno.test(`ECS ${program}: the container's entryPoint is the ${PROGRAM_PROFILES[program]!.task} task without --env-file, as in the Dockerfile`, async () => {
    const container = local(`${program}_container`);
    assert.equal(container.name, program);
    assert.equal(container.essential, true);
    assert.equal(container.image, "${var.image}");
    assert.deepEqual(container.entryPoint, await taskArgv(program));
    const dockerfile = await Deno.readTextFile(new URL("Dockerfile", ROOT));
    const stage = dockerfile.split(/^FROM /m).find((s) => s.startsWith(`base AS ${program}`));
    const entrypoint = /^ENTRYPOINT (.+)$/m.exec(stage ?? "")?.[1];
    assert.deepEqual(JSON.parse(entrypoint ?? "null"), container.entryPoint);
    assert.ok(
      !container.entryPoint.includes("-A") && !container.entryPoint.includes("--allow-all"),
    );
    const definition = module.resources.get(`aws_ecs_task_definition.${program}`)!;
    assert.equal(definition.container_definitions, `\${jsonencode([local.${program}_container])}`);
    assert.deepEqual(definition.requires_compatibilities, ["FARGATE"]);
  });

  Deno.test(`ECS ${program}: every environment name is an option of the program and secrets are ssm: references`, () => {
    const container = local(`${program}_container`);
    assert.equal(
      container.environment,
      `\${[for name, value in merge(local.${program}_base_environment, var.${program}_environment) : { name = name, value = value } if value != null]}`,
    );
    const environment = local(`${program}_base_environment`);
    const names = new Set(envNames(PROGRAM_SPECS[program]!));
    const unknown = Object.keys(environment).filter((name) => !names.has(name));
    assert.deepEqual(unknown, [], `${program} reads no such options`);
    assert.equal(environment.CONSUMER_INSTANCE_ID, undefined, "each task names itself");
    const secretRefs = local("rest_secret_environment");
    assert.equal(
      secretRefs,
      '${{ for option in local.rest_secret_options : option => "ssm:${local.parameter_names[option]}" }}',
    );
    for (const [name, value] of Object.entries(environment)) {
      const spec = Object.values(PROGRAM_SPECS[program]!).find((s) => s.env === name)!;
      if (!(spec.secret ?? isSecretName(name))) continue;
      assert.equal(value, `\${lookup(local.rest_secret_environment, "${name}", null)}`, name);
      assert.ok(name in local("parameter_names"), `${name} has a Parameter Store name`);
    }
    for (const [option, parameter] of Object.entries(local("parameter_names"))) {
      assert.ok(names.has(option), `parameter for option ${option}`);
      assert.match(String(parameter), /^\$\{local\.parameter_prefix\}\/[a-z-]+$/);
    }
    assert.equal(module.locals.get("parameter_prefix"), "/${var.name}");
    assert.equal(
      module.resources.get("aws_ssm_parameter.rest")!.name,
      "${local.parameter_names[each.key]}",
    );
  });

  Deno.test(`ECS ${program}: the stop timeout exceeds the drain bound and the health check asks /healthz on METRICS_PORT`, async () => {
    const container = local(`${program}_container`);
    assert.equal(container.stopTimeout, "${var.stop_timeout_seconds}");
    const variable = module.variables.get("stop_timeout_seconds")!;
    const bound = await drainBoundMs(program);
    const MARGIN_MS = 5_000;
    assert.ok(variable.default * 1000 >= bound + MARGIN_MS, `default above ${bound} ms`);
    const condition = String(variable.validation[0].condition);
    const min = Number(/var\.stop_timeout_seconds >= (\d+)/.exec(condition)?.[1]);
    const max = Number(/var\.stop_timeout_seconds <= (\d+)/.exec(condition)?.[1]);
    assert.ok(min * 1000 >= bound + MARGIN_MS, `the validation refuses less than ${bound} ms`);
    assert.ok(max <= 120, "Fargate allows at most 120 s");
    assert.equal(container.healthCheck, "${local.health_check}");
    const environment = local(`${program}_base_environment`);
    assert.equal(environment.METRICS_PORT, "${tostring(local.metrics_port)}");
    assert.equal(environment.METRICS_HOST, "0.0.0.0");
    const check = local("health_check");
    const url = /fetch\('([^']+)'\)/.exec(check.command.join(" "))?.[1];
    assert.equal(url, `http://127.0.0.1:${local("metrics_port")}/healthz`);
    assert.ok(check.startPeriod >= 10 && check.timeout < check.interval);
    const compose = parse(await Deno.readTextFile(new URL("docker-compose.yaml", ROOT)), {
      merge: true,
    });
    assert.deepEqual(
      check.command,
      compose["x-wikistream-healthcheck"].test,
      "the same check as compose",
    );
    assert.equal(container.logConfiguration.logDriver, "awslogs");
    assert.equal(container.logConfiguration.options["awslogs-group"], "${local.log_group_name}");
    assert.equal(
      module.resources.get("aws_cloudwatch_log_group.this")!.name,
      "${local.log_group_name}",
    );
  });
}

Deno.test("ECS producer: with producer_state_on_efs, STATE_DIR's folder is the EFS mount, owned by the image's user", async () => {
  const container = local("producer_container");
  assert.equal(
    container.mountPoints,
    '${var.producer_state_on_efs ? [{ sourceVolume = "producer-state", containerPath = local.producer_state_mount, readOnly = false }] : []}',
  );
  const dockerfile = await Deno.readTextFile(new URL("Dockerfile", ROOT));
  const workdir = /^WORKDIR (\S+)$/m.exec(dockerfile)?.[1];
  const stateDir = String(PRODUCER_OPTIONS.stateDir.default);
  assert.ok(!stateDir.startsWith("/") && stateDir.includes("/"), stateDir);
  const mount = `${workdir}/${stateDir.split("/")[0]}`;
  assert.equal(local("producer_state_mount"), mount, "the mount holds the default STATE_DIR");
  assert.equal(
    local("producer_base_environment").STATE_DIR,
    undefined,
    "STATE_DIR keeps its default",
  );
  assert.match(dockerfile, new RegExp(`chown deno:deno [^\n]*${mount.replaceAll(".", "\\.")}`));
  const definition = module.resources.get("aws_ecs_task_definition.producer")!;
  const volume = definition.dynamic.volume[0].content[0];
  assert.equal(volume.name, "producer-state");
  assert.equal(volume.efs_volume_configuration[0].transit_encryption, "ENABLED");
  assert.equal(volume.efs_volume_configuration[0].authorization_config[0].iam, "ENABLED");
});

Deno.test("ECS services: one producer at a time, consumer_desired_count consumers", () => {
  const producer = module.resources.get("aws_ecs_service.producer")!;
  assert.equal(producer.desired_count, 1);
  assert.equal(producer.deployment_maximum_percent, 100, "no second producer during a deploy");
  assert.equal(producer.deployment_minimum_healthy_percent, 0);
  const consumer = module.resources.get("aws_ecs_service.consumer")!;
  assert.equal(consumer.desired_count, "${var.consumer_desired_count}");
  for (const service of [producer, consumer]) assert.equal(service.launch_type, "FARGATE");
  assert.equal(
    module.resources.get("aws_ecs_task_definition.consumer")!.task_role_arn,
    "${aws_iam_role.consumer.arn}",
  );
  assert.equal(
    module.resources.get("aws_ecs_task_definition.producer")!.task_role_arn,
    "${aws_iam_role.producer[0].arn}",
  );
});

Deno.test("outputs: the upper-case outputs and the dotenv/environment keys are options of the consumer and verify", () => {
  const names = new Set([...envNames(PROGRAM_SPECS.consumer!), ...envNames(LAKE_STORE_OPTIONS)]);
  names.add("AWS_ACCESS_KEY_ID"); // read by the AWS SDK's credential chain
  const upper = [...module.outputs.keys()].filter((k) => /^[A-Z][A-Z0-9_]*$/.test(k));
  assert.deepEqual(upper.filter((k) => !names.has(k)), []);
  assert.ok(upper.includes("OUTPUT_URL") && upper.includes("AWS_REGION"));
  const environment = local("local_environment");
  assert.deepEqual(Object.keys(environment).filter((k) => !names.has(k)), []);
  assert.equal(environment.OUTPUT_URL, "${local.output_url}");
  assert.equal(
    module.outputs.get("dotenv")!.value,
    '${join("", [for name, value in local.local_environment : "${name}=${value}\\n" if value != null])}',
  );
  for (const [name, value] of Object.entries(environment)) {
    if (isSecretName(name)) assert.match(String(value), /rest_secret_environment/, name);
  }
  assert.equal(
    module.locals.get("output_url"),
    '${var.lake_prefix == "" ? "s3://${aws_s3_bucket.lake.bucket}" : "s3://${aws_s3_bucket.lake.bucket}/${var.lake_prefix}"}',
  );
});
