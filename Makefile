# Two commands on a fresh machine: `make serve` and `make test`.
# Each builds the virtual environment it needs, once per requirements change.
PYTHON ?= python3
SERVE_ENV := .venv
TRAIN_ENV := .venv-train
RUN ?= var/runs/lite2-tuned
AXE_VERSION := 4.14.1

.PHONY: serve createsuperuser test browser axe postgres apache-bench bench soak fuzz train train-baseline convert report clean

$(SERVE_ENV)/.installed: requirements-serve.txt
	$(PYTHON) -m venv $(SERVE_ENV)
	$(SERVE_ENV)/bin/pip install --quiet --upgrade pip
	$(SERVE_ENV)/bin/pip install --quiet -r requirements-serve.txt
	touch $@

$(TRAIN_ENV)/.installed: requirements-serve.txt requirements-train.txt
	$(PYTHON) -m venv $(TRAIN_ENV)
	$(TRAIN_ENV)/bin/pip install --quiet --upgrade pip
	$(TRAIN_ENV)/bin/pip install --quiet -r requirements-train.txt
	touch $@

## serve: the app on http://127.0.0.1:8000 (PORT, HOST, WEB_CONCURRENCY from the environment)
serve: $(SERVE_ENV)/.installed
	$(SERVE_ENV)/bin/python manage.py collectstatic --noinput --verbosity 0
	exec $(SERVE_ENV)/bin/gunicorn --config gunicorn.conf.py

## createsuperuser: the first account of the review page at /admin/ (feedback), in the local database
createsuperuser: $(SERVE_ENV)/.installed
	$(SERVE_ENV)/bin/python manage.py migrate --noinput --verbosity 0
	$(SERVE_ENV)/bin/python manage.py createsuperuser

## test: the whole test suite (installs the training environment, which includes pytest,
## and Debian's chromium for the browser test and postgresql for the feedback tests when run as root)
test: $(TRAIN_ENV)/.installed browser axe postgres
	$(TRAIN_ENV)/bin/python -m pytest $(PYTEST_ARGS)

browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  { [ "$$(id -u)" = 0 ] && apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null; } || \
	  echo "chromium could not be installed: the browser test will be skipped"

# PostgreSQL for the feedback tests, which start a throwaway server of their own (tests/app/databases.py)
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
	  { [ "$$(id -u)" = 0 ] && apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq --no-install-recommends postgresql >/dev/null; } || \
	  echo "postgresql could not be installed: the feedback tests on PostgreSQL will be skipped"

# axe-core, the accessibility rule engine the browser test runs on the page (from the npm registry, pinned)
axe:
	@[ -f var/axe/node_modules/axe-core/axe.min.js ] || \
	  npm install --prefix var/axe --no-audit --no-fund --silent axe-core@$(AXE_VERSION) >/dev/null 2>&1 || \
	  echo "axe-core could not be installed (npm): the accessibility audit will be skipped"

## train: the shipped recipe, in the background; follow it with `tail -f $(RUN)/train.log`
train: $(TRAIN_ENV)/.installed
	mkdir -p $(RUN)
	nohup $(TRAIN_ENV)/bin/python -m training.train --run_dir=$(RUN) > $(RUN).out 2>&1 &
	@echo "training in the background: tail -f $(RUN)/train.log"

## train-baseline: the original from-scratch CNN at 96 px, for comparison (at most 45 minutes)
train-baseline: $(TRAIN_ENV)/.installed
	$(TRAIN_ENV)/bin/python -m training.train --model=simple-cnn --run_dir=var/runs/simple-cnn \
	  --input_size=96 --time_budget_minutes=42 --other_loss_weight=0.5 --dropout=0.3

## convert: Keras -> ONNX with the parity check, then int8, written beside float32 if equivalent (convert/equivalence.py)
convert: $(TRAIN_ENV)/.installed
	$(TRAIN_ENV)/bin/python -m convert.to_onnx --run_dir=$(RUN) --output=app/model/catsdogs.onnx
	$(TRAIN_ENV)/bin/python -m convert.quantize --run_dir=$(RUN) --model=app/model/catsdogs.onnx --ship

## report: the evaluation report and model card from a run (and the baseline, if trained)
report: $(TRAIN_ENV)/.installed
	$(TRAIN_ENV)/bin/python -m training.report --run_dir=$(RUN) --baseline_dir var/runs/simple-cnn --output=app/model

## bench: speed and footprint, written to BENCHMARKS.md and benchmarks/results.json (about 10 minutes)
bench: $(TRAIN_ENV)/.installed apache-bench
	$(TRAIN_ENV)/bin/python -m benchmarks.run --run_dir=$(RUN)

## soak: 32 clients for 60 s plus a 10,000-request memory check, on loopback
soak: $(TRAIN_ENV)/.installed apache-bench
	$(TRAIN_ENV)/bin/python -m benchmarks.soak

# ab (Apache Bench) drives the HTTP load of bench and soak; Debian's apache2-utils has it
apache-bench:
	@command -v ab >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends apache2-utils >/dev/null; }

## fuzz: a longer property-based run of decoding and preprocessing
fuzz: $(TRAIN_ENV)/.installed
	$(TRAIN_ENV)/bin/python -m benchmarks.fuzz --seconds 300

clean:
	rm -rf staticfiles .pytest_cache
