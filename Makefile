# ElasticHash: the two commands are `make demo` and `make test`; both set up what they need.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

ES_VERSION := $(shell sed -n 's:.*<es.version>\(.*\)</es.version>.*:\1:p' pom.xml | head -n1)
PROJECT_VERSION := $(shell sed -n '0,/<version>/s:.*<version>\(.*\)</version>.*:\1:p' pom.xml)
PLUGIN_ZIP := es-plugin/elasticsearch/target/elastichash-$(PROJECT_VERSION)-es$(ES_VERSION).zip
PLUGIN_SOURCES := $(shell find es-plugin/*/src -type f) $(wildcard es-plugin/*/pom.xml) pom.xml

VENV := .venv
PYTHON := $(VENV)/bin/python
PY_STAMP := $(VENV)/.installed
PY_CLIENT := $(wildcard python-client/pyproject.toml)
PY_REQUIREMENTS := $(PY_CLIENT) integration-tests/requirements.txt benchmarks/requirements.txt

# Maven on the JDK that Elasticsearch 9 needs; quiet, batch mode, no JDK 25 Unsafe warnings.
MVN = JAVA_HOME="$$(scripts/find-jdk.sh 21)" MAVEN_OPTS="--sun-misc-unsafe-memory-access=allow" \
	mvn -B -q -Dstyle.color=never -Des.version=$(ES_VERSION)

.PHONY: help demo test plugin java-test python-test model-test integration-test lint bench \
	es-start es-stop es-cluster-start es-cluster-stop es-status clean

help: ## List the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 22

demo: $(PLUGIN_ZIP) $(PY_STAMP) ## Start a local node with the plugin, index sample images, search by example
	@url=$$(scripts/es-node.sh start | tail -n1); \
	$(PYTHON) scripts/demo.py --es-url "$$url"; \
	echo "The node keeps running at $$url; stop it with: make es-stop"

test: java-test python-test model-test integration-test ## Run every test (builds, starts and stops a node)

plugin: $(PLUGIN_ZIP) ## Build the Elasticsearch plugin zip (runs its unit tests)

$(PLUGIN_ZIP): $(PLUGIN_SOURCES)
	$(MVN) package
	@echo "built $@"

java-test: ## Java unit tests (JUnit), then the plugin zip
	$(MVN) package
	@cat es-plugin/*/target/surefire-reports/*.xml | grep -o '<testsuite [^>]*' \
		| sed -E 's/.* tests="([0-9]+)".* failures="([0-9]+)".*/\1 \2/' \
		| awk '{t+=$$1; f+=$$2} END {print "junit: " t-f " passed, " f " failed"}'

# The OpenSearch plugin (issue 9): its own Maven profile, so that `make plugin` and CI stay as they were.
OS_VERSION := $(shell sed -n 's:.*<opensearch.version>\(.*\)</opensearch.version>.*:\1:p' pom.xml | head -n1)
OS_PLUGIN_ZIP := es-plugin/opensearch/target/elastichash-$(PROJECT_VERSION)-os$(OS_VERSION).zip
.PHONY: opensearch-plugin

opensearch-plugin: $(OS_PLUGIN_ZIP) ## Build the OpenSearch plugin zip (runs its unit tests and the core's on OpenSearch's Lucene)

$(OS_PLUGIN_ZIP): $(PLUGIN_SOURCES)
	$(MVN) -Popensearch -Dopensearch.version=$(OS_VERSION) -pl es-plugin/opensearch -am package
	@echo "built $@"

# The Elasticsearch 8.19 plugin (issue 9): profile es8, module es-plugin/elasticsearch8, the same core and glue
# sources compiled against Elasticsearch 8 / Lucene 9 for Java 17; its own target folder, so both zips coexist.
ES8_VERSION := $(shell sed -n 's:.*<es8.version>\(.*\)</es8.version>.*:\1:p' pom.xml | head -n1)
ES8_PLUGIN_ZIP := es-plugin/elasticsearch8/target/elastichash-$(PROJECT_VERSION)-es$(ES8_VERSION).zip
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
	$(PYTHON) -m pip install -q $(if $(PY_CLIENT),-e 'python-client[test]') ruff -r integration-tests/requirements.txt \
		-r benchmarks/requirements.txt
	touch $@

PY_DIRS := $(wildcard python-client) integration-tests scripts benchmarks

lint: $(PY_STAMP) ## ruff over all Python code
	$(VENV)/bin/ruff check $(PY_DIRS)
	$(VENV)/bin/ruff format --check $(PY_DIRS)

python-test: lint ## Python unit tests (no node needed)
	$(if $(PY_CLIENT),$(VENV)/bin/pytest -q python-client/tests,@echo "no python-client yet")

model-test: ## model-export's fast tests (its own venv with PyTorch)
	$(MAKE) --no-print-directory -C model-export setup test

integration-test: $(PLUGIN_ZIP) $(PY_STAMP) ## pytest against a real node with the plugin
	@url=$$(scripts/es-node.sh start | tail -n1); \
	status=0; ES_URL="$$url" $(VENV)/bin/pytest -q integration-tests || status=$$?; \
	scripts/es-node.sh stop; exit $$status

BENCH_N ?= 1000000
BENCH_CLUSTER_N ?= 300000
BENCH_RUN = cd benchmarks && ../$(PYTHON) -m ehbench
.PHONY: bench-uniform bench-cluster bench-report
bench: $(PLUGIN_ZIP) $(PY_STAMP) ## Benchmarks at BENCH_N clustered codes (default 1M, ~20 min; also 3000000, 10M): benchmarks/results
	@scripts/es-node.sh stop; url=$$(ES_HEAP=$${ES_HEAP:-2g} scripts/es-node.sh start | tail -n1); \
	$(BENCH_RUN) --es-url "$$url" --n $(BENCH_N) $(BENCH_ARGS)

bench-uniform: $(PLUGIN_ZIP) $(PY_STAMP) ## The worst case: BENCH_N uniformly random codes, where hashing cannot prune
	@scripts/es-node.sh stop; url=$$(ES_HEAP=$${ES_HEAP:-2g} scripts/es-node.sh start | tail -n1); \
	$(BENCH_RUN) --es-url "$$url" --n $(BENCH_N) --uniform $(BENCH_ARGS)

bench-cluster: $(PLUGIN_ZIP) $(PY_STAMP) ## BENCH_CLUSTER_N codes in 3-shard indices on the 3-node cluster: still exact
	@url=$$(scripts/es-node.sh cluster-start | tail -n1); \
	$(BENCH_RUN) --es-url "$$url" --n $(BENCH_CLUSTER_N) --shards 3 --skip 'paper_*' 'dense_vector_*' $(BENCH_ARGS)

bench-report: $(PY_STAMP) ## Rewrite the tables and plots in benchmarks/results from their JSON files
	$(BENCH_RUN).report

es-start: $(PLUGIN_ZIP) ## Start (or keep) one local node; prints its URL last
	@scripts/es-node.sh start

es-stop: ## Stop the local node
	@scripts/es-node.sh stop

es-cluster-start: $(PLUGIN_ZIP) ## Start (or keep) a 3-node cluster on 127.0.0.1:9201-9203
	@scripts/es-node.sh cluster-start

es-cluster-stop: ## Stop the 3-node cluster
	@scripts/es-node.sh cluster-stop

es-status: ## Which local nodes run
	@scripts/es-node.sh status

clean: ## Stop nodes, remove build outputs and node data (keeps downloads)
	-scripts/es-node.sh stop; scripts/es-node.sh cluster-stop
	rm -rf es-plugin/*/target .es/nodes
