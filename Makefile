# ElasticHash: the two commands are `make demo` and `make test`; both set up what they need.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

ES_VERSION := $(shell sed -n 's:.*<es.version>\(.*\)</es.version>.*:\1:p' pom.xml | head -n1)
PROJECT_VERSION := $(shell sed -n '0,/<version>/s:.*<version>\(.*\)</version>.*:\1:p' pom.xml)
PLUGIN_ZIP := es-plugin/elasticsearch/target/elastichash-$(PROJECT_VERSION)-es$(ES_VERSION).zip
OS_VERSION := $(shell sed -n 's:.*<opensearch.version>\(.*\)</opensearch.version>.*:\1:p' pom.xml | head -n1)
OS_PLUGIN_ZIP := es-plugin/opensearch/target/elastichash-$(PROJECT_VERSION)-os$(OS_VERSION).zip
ES8_VERSION := $(shell sed -n 's:.*<es8.version>\(.*\)</es8.version>.*:\1:p' pom.xml | head -n1)
ES8_PLUGIN_ZIP := es-plugin/elasticsearch8/target/elastichash-$(PROJECT_VERSION)-es$(ES8_VERSION).zip
PLUGIN_SOURCES := $(shell find es-plugin/*/src -type f) $(wildcard es-plugin/*/pom.xml) pom.xml

VENV := .venv
PYTHON := $(VENV)/bin/python
PY_STAMP := $(VENV)/.installed
PY_CLIENT := $(wildcard python-client/pyproject.toml)
# The client with its test tools, the web page's server (`elastichash serve`), `elastichash fit`
# and Dask (`--dask`).
PY_CLIENT_SPEC := python-client[test,web,fit,distributed]
PY_REQUIREMENTS := $(PY_CLIENT) integration-tests/requirements.txt benchmarks/requirements.txt

# Maven on the JDK that Elasticsearch 9 needs; quiet, batch mode. JDK 23+ also gets the flag that
# quiets its Unsafe warnings: older JDKs refuse to start with it.
MVN = jdk="$$(scripts/find-jdk.sh 21)" && JAVA_HOME="$$jdk" \
	MAVEN_OPTS="$$(grep -qE '^JAVA_VERSION="(2[3-9]|[3-9][0-9])' "$$jdk/release" && echo --sun-misc-unsafe-memory-access=allow)" \
	mvn -B -q -Dstyle.color=never -Des.version=$(ES_VERSION)

.PHONY: help demo web-stop browser screenshots test java-builds plugin java-test python-test model-test integration-test lint bench \
	es-start es-stop es-cluster-start es-cluster-stop es-status clean

# Local nodes come from scripts/ehnodes (python3, standard library only). ENGINE picks the engine of
# the node targets and the demo; EH_STATE_DIR, EH_HTTP_PORT and EH_HEAP change where and how.
ENGINE ?= es9
# The engines `make integration-test` (and so `make test`) runs the suite on.
ENGINES ?= es9 es8 opensearch
NODES = PYTHONPATH=scripts python3 -m ehnodes
# What builds each engine's plugin zip (a file, or the target that makes it).
ENGINE_PLUGIN_es9 = $(PLUGIN_ZIP)
ENGINE_PLUGIN_es8 = $(ES8_PLUGIN_ZIP)
ENGINE_PLUGIN_opensearch = $(OS_PLUGIN_ZIP)

help: ## List the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 22

WEB_PORT ?= 8700

demo: $(ENGINE_PLUGIN_$(ENGINE)) $(PY_STAMP) ## Start a local node with the plugin, index sample images, search by example; prints the web page's URL last
	@url=$$($(NODES) start --engine $(ENGINE) | tail -n1); \
	$(PYTHON) scripts/demo.py --es-url "$$url"; \
	echo "The node keeps running at $$url; stop it with: make es-stop ENGINE=$(ENGINE)"; \
	web=$$($(PYTHON) scripts/web_server.py start --es-url "$$url" --index demo-images \
		--port $(WEB_PORT) build/demo/images | tail -n1); \
	echo "Search the sample images by example in a browser (stop the page with: make web-stop):"; \
	echo "$$web"

web-stop: ## Stop the demo's web page (make demo started it)
	@$(PYTHON) scripts/web_server.py stop

# The Java builds (one after another: they share the core module's build folder) run alongside the
# Python unit tests and model-export's once the shared virtual environment exists; then the
# engines' integration suites, side by side. Each part's output is printed whole when it ends.
test: $(PY_STAMP) ## Run every test (builds, starts and stops the nodes)
	@$(MAKE) --no-print-directory -j2 --output-sync=target java-builds python-test model-test
	@$(MAKE) --no-print-directory integration-test

java-builds: ## The three plugin zips, each after its JUnit tests
	@$(MAKE) --no-print-directory -j1 java-test $(ES8_PLUGIN_ZIP) $(OS_PLUGIN_ZIP)

plugin: $(PLUGIN_ZIP) ## Build the Elasticsearch plugin zip (runs its unit tests)

$(PLUGIN_ZIP): $(PLUGIN_SOURCES)
	$(MVN) package
	@echo "built $@"

java-test: ## Java unit tests (JUnit), then the plugin zip
	$(MVN) package
	@cat es-plugin/*/target/surefire-reports/*.xml | grep -o '<testsuite [^>]*' \
		| sed -E 's/.* tests="([0-9]+)".* failures="([0-9]+)".*/\1 \2/' \
		| awk '{t+=$$1; f+=$$2} END {print "junit: " t-f " passed, " f " failed"}'

# The OpenSearch plugin: its own Maven profile, so that `make plugin` and CI stay as they were.
.PHONY: opensearch-plugin

opensearch-plugin: $(OS_PLUGIN_ZIP) ## Build the OpenSearch plugin zip (runs its unit tests and the core's on OpenSearch's Lucene)

$(OS_PLUGIN_ZIP): $(PLUGIN_SOURCES)
	$(MVN) -Popensearch -Dopensearch.version=$(OS_VERSION) -pl es-plugin/opensearch -am package
	@echo "built $@"

# The Elasticsearch 8.19 plugin: profile es8, module es-plugin/elasticsearch8, the same core and glue
# sources compiled against Elasticsearch 8 / Lucene 9 for Java 17; its own target folder, so both zips coexist.
.PHONY: es8-plugin

es8-plugin: $(ES8_PLUGIN_ZIP) ## Build the Elasticsearch 8.19 plugin zip (runs the core's and the glue's tests on its Lucene 9)

$(ES8_PLUGIN_ZIP): $(PLUGIN_SOURCES)
	$(MVN) -Pes8 -Des8.version=$(ES8_VERSION) -pl es-plugin/elasticsearch8 package
	@cat es-plugin/elasticsearch8/target/es8-test-reports/*.xml | grep -o '<testsuite [^>]*' \
		| sed -E 's/.* tests="([0-9]+)".* failures="([0-9]+)".*/\1 \2/' \
		| awk '{t+=$$1; f+=$$2} END {print "junit (Elasticsearch 8, Lucene 9): " t-f " passed, " f " failed"}'
	@echo "built $@"

$(PY_STAMP): $(PY_REQUIREMENTS)
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install -q --upgrade pip
	$(PYTHON) -m pip install -q $(if $(PY_CLIENT),-e '$(PY_CLIENT_SPEC)') ruff -r integration-tests/requirements.txt \
		-r benchmarks/requirements.txt
	touch $@

PY_DIRS := $(wildcard python-client) integration-tests scripts benchmarks

lint: $(PY_STAMP) ## ruff over all Python code
	$(VENV)/bin/ruff check $(PY_DIRS)
	$(VENV)/bin/ruff format --check $(PY_DIRS)

# QEMU's user-mode emulator runs the int8 model under a CPU without VNNI in the client's tests.
QEMU_STAMP := build/.qemu-installed
$(QEMU_STAMP):
	@scripts/apt-ensure.sh "the int8 model's CPU test" qemu-user
	@mkdir -p build && touch $@

python-test: lint $(QEMU_STAMP) ## Python unit tests (no node needed)
	$(if $(PY_CLIENT),$(VENV)/bin/pytest -q python-client/tests,@echo "no python-client yet")
	$(VENV)/bin/pytest -q scripts/tests benchmarks/tests

model-test: ## model-export's fast tests (its own venv with PyTorch)
	$(MAKE) --no-print-directory -C model-export test

# Per engine: pytest's session fixture starts a node with that engine's zip (ES_URL is dropped so
# that it does), and stops it; the stop after it covers an interrupted run. The engines' suites run
# side by side (INTEGRATION_JOBS at once, default all; 1: one after the other). Logs in build/.
integration-test: $(foreach engine,$(ENGINES),$(ENGINE_PLUGIN_$(engine))) $(PY_STAMP) browser ## pytest against a real node of each engine in ENGINES, side by side (and the web page in Chromium)
	@VENV=$(VENV) scripts/integration-tests.sh $(ENGINES)

BENCH_N ?= 1000000
BENCH_CLUSTER_N ?= 300000
# The engines `make bench` measures, one after the other: Elasticsearch 9 (with dense_vector), then
# OpenSearch, whose Painless runs the paper's own baseline (b) and (d).
BENCH_ENGINES ?= es9 opensearch
# Queries for the systems that scan every document (of the 500): Painless over 1M documents takes
# a quarter of a second per query; 100 give medians that move by a few per cent.
BENCH_BRUTE_QUERIES ?= 100
BENCH_RUN = cd benchmarks && ../$(PYTHON) -m ehbench
.PHONY: bench-es9 bench-opensearch bench-uniform bench-cluster bench-report
bench: $(addprefix bench-,$(BENCH_ENGINES)) ## Benchmarks at BENCH_N clustered codes on each engine of BENCH_ENGINES (default 1M, ~20 + 25 min): benchmarks/results

bench-es9: $(PLUGIN_ZIP) $(PY_STAMP) ## The Elasticsearch 9 line-up (also BENCH_N=3000000, 10M); the node keeps running
	@url=$$($(NODES) start --engine es9 --heap $${EH_HEAP:-2g} | tail -n1); \
	$(BENCH_RUN) --es-url "$$url" --n $(BENCH_N) $(BENCH_ARGS)

bench-opensearch: $(OS_PLUGIN_ZIP) $(PY_STAMP) ## The OpenSearch line-up: ours against the paper's Painless setup, the ratios to it; the node keeps running
	@url=$$($(NODES) start --engine opensearch --heap $${EH_HEAP:-2g} | tail -n1); \
	$(BENCH_RUN) --es-url "$$url" --n $(BENCH_N) --brute-queries $(BENCH_BRUTE_QUERIES) $(BENCH_ARGS)

bench-uniform: $(PLUGIN_ZIP) $(PY_STAMP) ## The worst case: BENCH_N uniformly random codes, where hashing cannot prune
	@url=$$($(NODES) start --engine es9 --heap $${EH_HEAP:-2g} | tail -n1); \
	$(BENCH_RUN) --es-url "$$url" --n $(BENCH_N) --uniform $(BENCH_ARGS)

bench-cluster: $(PLUGIN_ZIP) $(PY_STAMP) ## BENCH_CLUSTER_N codes in 3-shard indices on the 3-node cluster: still exact
	@url=$$($(NODES) start --engine es9 --cluster | tail -n1); \
	$(BENCH_RUN) --es-url "$$url" --n $(BENCH_CLUSTER_N) --shards 3 --skip 'paper_*' 'dense_vector_*' elastichash_v2 $(BENCH_ARGS)

.PHONY: bench-ingest
bench-ingest: $(PLUGIN_ZIP) $(PY_STAMP) ## Images/s of a folder ingest (400 photo-like 1,024 px JPEGs), stages overlapped vs one after the other; the node keeps running
	@url=$$($(NODES) start --engine es9 | tail -n1); \
	$(BENCH_RUN).ingest --es-url "$$url" $(BENCH_ARGS)

# The real images that synthetic images like real ones are fitted on, and the labelled domains of
# the quality benchmark: Debian packages, installed once by model-export (its image packages).
.PHONY: bench-images
bench-images:
	@$(MAKE) --no-print-directory -C model-export build/.apt-installed

.PHONY: bench-realistic
bench-realistic: $(PY_STAMP) bench-images ## Synthetic images like real ones: real images encoded, a generator fitted per collection, the fit report (then: make bench-es9 BENCH_ARGS=--realistic)
	$(BENCH_RUN).realistic --report $(BENCH_ARGS)

.PHONY: bench-cache
bench-cache: $(PLUGIN_ZIP) $(PY_STAMP) ## The exact query from the doc-value columns vs the code cache vs its pivot partition vs HNSW, same run, 3 rounds (on make bench's indices; BENCH_ARGS=--realistic)
	@url=$$($(NODES) start --engine es9 --heap $${EH_HEAP:-2g} | tail -n1); \
	$(BENCH_RUN).cache --es-url "$$url" --n $(BENCH_N) $(BENCH_ARGS)

.PHONY: bench-load
bench-load: $(PLUGIN_ZIP) $(PY_STAMP) ## Throughput of 16 concurrent clients: the exact query vs HNSW, queries near the data and far from it, 3 rounds (on make bench's indices; BENCH_ARGS=--realistic)
	@url=$$($(NODES) start --engine es9 --heap $${EH_HEAP:-2g} | tail -n1); \
	$(BENCH_RUN).load --es-url "$$url" --n $(BENCH_N) $(BENCH_ARGS)

.PHONY: bench-10m
bench-10m: $(PLUGIN_ZIP) $(PY_STAMP) bench-images ## 10M codes like real images on Elasticsearch 9 (opt-in, about an hour): the exact query and paper mode against Faiss IndexBinaryFlat; bit HNSW, the earlier layout and floats left out (their ingest alone takes hours here)
	@url=$$($(NODES) start --engine es9 --heap $${EH_HEAP:-6g} | tail -n1); \
	$(BENCH_RUN) --es-url "$$url" --n 10000000 --realistic --queries 200 --k 10 100 --reuse --code-cache-limit 30% \
		--skip elastichash_v2 hnsw flat 'dense_*' 'paper_*' two_stage_native long_native eh_max_distance faiss_multihash $(BENCH_ARGS)

.PHONY: bench-quality
bench-quality: $(PLUGIN_ZIP) $(PY_STAMP) bench-images ## mAP@10 and near-copies through a node on the unseen domains: codes vs float vectors (flat, bbq_hnsw, int8_hnsw); results/quality.md
	@url=$$($(NODES) start --engine es9 --heap $${EH_HEAP:-2g} | tail -n1); \
	$(BENCH_RUN).quality --es-url "$$url" --out results/quality.md $(BENCH_ARGS)

.PHONY: bench-floats
bench-floats: $(PLUGIN_ZIP) $(PY_STAMP) bench-images ## Codes vs float vectors (bbq_hnsw, int8_hnsw, flat) on BENCH_FLOATS_N synthetic images like real ones (default 50k): latency, recall, ingest, disk
	@url=$$($(NODES) start --engine es9 --heap $${EH_HEAP:-2g} | tail -n1); \
	$(BENCH_RUN).floats --es-url "$$url" --n $${BENCH_FLOATS_N:-50000} --warmup 100 --out results/floats-$${BENCH_FLOATS_N:-50000}.md $(BENCH_ARGS)

.PHONY: bench-encode
bench-encode: $(PY_STAMP) ## Images/s through the model alone: the default model against its int8 copy (same run, 3 rounds)
	$(BENCH_RUN).encode $(BENCH_ARGS)

bench-report: $(PY_STAMP) ## Rewrite the tables and plots in benchmarks/results from their JSON files
	$(BENCH_RUN).report

browser: ## Headless Chromium and chromium-driver from Debian (for the web page's tests), when missing
	@scripts/ensure-browser.sh

screenshots: $(PY_STAMP) browser ## Screenshots of the demo's web page into docs/img/ (after make demo)
	$(PYTHON) scripts/screenshots.py --url "$$($(PYTHON) scripts/web_server.py url)"

es-start: $(ENGINE_PLUGIN_$(ENGINE)) ## Start (or keep) a local node of ENGINE (es9, es8, opensearch); prints its URL last
	@$(NODES) start --engine $(ENGINE)

es-stop: ## Stop the local node of ENGINE
	@$(NODES) stop --engine $(ENGINE)

es-cluster-start: $(ENGINE_PLUGIN_$(ENGINE)) ## Start (or keep) a 3-node cluster of ENGINE on 127.0.0.1:9201-9203
	@$(NODES) start --engine $(ENGINE) --cluster

es-cluster-stop: ## Stop the 3-node cluster of ENGINE
	@$(NODES) stop --engine $(ENGINE) --cluster

# A node SIGKILLed mid-ingest and restarted, and one down from the start, on the 3-node
# cluster with queries throughout; minutes long, so not part of `make test`. Figures in build/resilience.json.
.PHONY: resilience-test
resilience-test: $(ENGINE_PLUGIN_$(ENGINE)) $(PY_STAMP) ## A node killed mid-ingest, one down from the start, a Dask worker killed (3-node cluster of ENGINE; slow)
	@mkdir -p build; rm -f build/resilience.json; \
	EH_RESILIENCE=1 $(VENV)/bin/pytest -q -s integration-tests/test_resilience.py \
		integration-tests/test_distributed.py::test_a_worker_killed_mid_run_loses_and_duplicates_nothing --engine $(ENGINE) \
		2>&1 | tee build/resilience-$(ENGINE).log

es-status: ## Every local node, running or not, and the folder node files live in
	@$(NODES) status

clean: ## Stop every local node and the demo's web page, remove build outputs and node data (keeps downloads and unpacked releases)
	-test -x $(PYTHON) && $(PYTHON) scripts/web_server.py stop
	-$(NODES) clean
	rm -rf es-plugin/*/target
