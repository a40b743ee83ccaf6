# Infrastructure targets, included by the top-level Makefile (which defines VENV, PY and the install stamps).
#
#   make bundle                      build/lambda/ and build/lambda.zip (no Docker), prints the zipped size
#   make synth [STAGE=prod]          infra/cdk.out/, offline, no AWS credentials; cdk-nag runs during synth
#   make deploy / diff / destroy     the pinned aws-cdk CLI (npm, installed into .cdk/ on first use)
#   [WORKER_RESERVED=N]              with synth/diff/deploy: reserve N executions for the worker (default none)
#   make keys ARGS="create --tenant acme"   python -m gateway.keys: the running `make run`'s keys, or STAGE's
#   make invoke [EVENT=events/http-create-response.json]   events through the real handlers, against moto
#   make dryrun                      the deployment's dry run (tests/deploy): every function, route and the worker

STAGE ?= dev
STACK := responses-gateway-$(STAGE)
# Executions reserved for the worker (empty: none). Lambda keeps 100 unreserved, so N needs a quota of N + 100.
WORKER_RESERVED ?=
CDK_CONTEXT := -c stage=$(STAGE) $(if $(WORKER_RESERVED),-c workerReservedConcurrency=$(WORKER_RESERVED))
CDK_VERSION := 2.1148.1
CDK_APPROVAL ?= never

CDK_DIR := .cdk
CDK := $(abspath $(CDK_DIR))/node_modules/.bin/cdk
CDK_STAMP := $(CDK_DIR)/.installed-$(CDK_VERSION)
BUNDLE := build/lambda.zip
comma := ,
# The infra extra (aws-cdk-lib, cdk-nag) lives behind INFRA_STAMP where the top-level Makefile defines one.
INFRA_READY := $(or $(INFRA_STAMP),$(VENV)/.installed)
INFRA_ENV := PYTHONPATH=$(CURDIR)/infra:$(CURDIR)/functions JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20
# The CLI runs `python app.py` from cdk.json: put the virtualenv's interpreter first on PATH.
CDK_ENV := $(INFRA_ENV) PATH="$(abspath $(VENV))/bin:$$PATH"
BUNDLE_INPUTS := pyproject.toml infra/gateway_infra/config.py infra/gateway_infra/tools/bundle.py \
	$(shell find functions/gateway -type f -not -path '*/__pycache__/*' 2>/dev/null)

.PHONY: bundle synth deploy diff destroy keys invoke dryrun

## Build the Lambda bundle for arm64 and the runtime's Python, from the runtime dependencies only.
bundle: $(BUNDLE)

$(BUNDLE): $(INFRA_READY) $(BUNDLE_INPUTS)
	$(INFRA_ENV) $(PY) -m gateway_infra.tools.bundle

## Synthesize the stack (and run cdk-nag) into infra/cdk.out/, with no AWS account or CLI.
synth: $(INFRA_READY) $(BUNDLE)
	cd infra && $(INFRA_ENV) CDK_OUTDIR=cdk.out \
		CDK_CONTEXT_JSON='{"stage":"$(STAGE)"$(if $(WORKER_RESERVED),$(comma)"workerReservedConcurrency":"$(WORKER_RESERVED)")}' \
		$(abspath $(PY)) app.py
	@echo "infra/cdk.out/$(STACK).template.json infra/cdk.out/responses-gateway-account.template.json"

$(CDK_STAMP):
	npm install --prefix $(CDK_DIR) --no-audit --no-fund --loglevel=error aws-cdk@$(CDK_VERSION)
	touch $@

## Deploy STAGE (default dev) with the current AWS credentials; bootstraps the account/region on first use.
## The stage's stack depends on responses-gateway-account (API Gateway's logging role), which the CLI deploys first.
deploy: $(INFRA_READY) $(BUNDLE) $(CDK_STAMP)
	cd infra && $(CDK_ENV) $(CDK) bootstrap $(CDK_CONTEXT)
	cd infra && $(CDK_ENV) $(CDK) deploy $(STACK) $(CDK_CONTEXT) --require-approval $(CDK_APPROVAL) \
		--outputs-file cdk.out/outputs-$(STAGE).json

diff: $(INFRA_READY) $(BUNDLE) $(CDK_STAMP)
	cd infra && $(CDK_ENV) $(CDK) diff $(STACK) $(CDK_CONTEXT)

## Delete STAGE's stack (asks first). prod keeps its table, bucket, secret and logs (RETAIN). The account stack
## stays for the other stages: `cd infra && cdk destroy responses-gateway-account` once none is left.
destroy: $(INFRA_READY) $(BUNDLE) $(CDK_STAMP)
	cd infra && $(CDK_ENV) $(CDK) destroy $(STACK) $(CDK_CONTEXT)

## Manage API keys: make keys ARGS="create --tenant acme" | ARGS=list | ARGS="revoke ID". Without STAGE on the
## command line: the running `make run`'s keys if there is one, else the deployed dev stage's. No CDK needed.
keys: $(VENV)/.installed
	@$(INFRA_ENV) $(PY) -m gateway_infra.tools.keys $(if $(filter file,$(origin STAGE)),,--stage $(STAGE)) $(ARGS)

## Run one event file through the real Lambda handler against in-process moto (after a create it can act on).
invoke: $(VENV)/.installed
	@test -n "$(EVENT)" || { echo "usage: make invoke EVENT=<one of:" events/*.json ">"; exit 2; }
	@$(INFRA_ENV) $(PY) -m gateway_infra.tools.invoke $(EVENT)

## The deployment's dry run without an account (tests/deploy): each function of the synthesized stage started as
## Lambda starts it, every route and the worker driven with the template's events and environment against moto.
## Runs the arm64 bundle as shipped under qemu-user where this machine can (qemu-user-static and an aarch64
## python3.13 in DRYRUN_ARM64_ROOT, default build/arm64-root), the same bundle built for this machine, and the source.
HOST_BUNDLE := build/host/lambda.zip
DRYRUN_ENV := PYTHONPATH=$(CURDIR)/infra:$(CURDIR)/functions:$(CURDIR)
$(HOST_BUNDLE): $(INFRA_READY) $(BUNDLE_INPUTS)
	$(DRYRUN_ENV) $(PY) -m gateway_infra.tools.bundle --out build/host --platform manylinux2014_$$(uname -m) \
		--python-version $$($(DRYRUN_ENV) $(PY) -c 'from tests.deploy.variants import host_build_version as v; print(v())')

dryrun: $(INFRA_READY) $(BUNDLE) $(HOST_BUNDLE)
	DRYRUN_ARM64=1 $(PY) -m pytest -m deploy tests/deploy -p no:cacheprovider -o timeout=1800
