# Two entry points (see README): `make run` and `make test`. Both set up .venv first.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PIP_INSTALL := $(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints-dev.txt
STAMP := $(VENV)/.installed
PACKAGES := warprec-core warprec-models-classic warprec-models-neural

.PHONY: setup run test lint bench clean

$(STAMP): constraints-dev.txt requirements-dev.txt $(addsuffix /pyproject.toml,$(PACKAGES))
	$(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) -r requirements-dev.txt -e 'warprec-core[parquet,template,ray,report,mlflow,hopt,optuna,bohb]' -e warprec-models-classic -e 'warprec-models-neural[compiled]'
	touch $@

setup: $(STAMP)

run: setup
	$(BIN)/warprec run examples/quickstart.yaml

test: setup
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n 2 --dist loadfile

lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV)
