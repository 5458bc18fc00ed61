# border-gate-edge: `make demo` and `make test` set up everything on a fresh machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Two installs: the runtime alone (`make demo`), and the runtime with the test extra (everything else).
RUNTIME_STAMP := $(VENV)/.installed-runtime
STAMP := $(VENV)/.installed

.PHONY: venv test lint typecheck pytest system-deps demo bench screenshots clean

$(RUNTIME_STAMP): pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $(RUNTIME_STAMP)

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(RUNTIME_STAMP) $(STAMP)

venv: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check edge devices vision sync pacing central webauth tests benchmarks
	$(BIN)/ruff format --check edge devices vision sync pacing central webauth tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy edge devices vision sync pacing central webauth benchmarks

# The tests start their own Mosquitto broker and drive Debian's Chromium, and draw Chinese and Lao plates
# with Debian's fonts (vision/render.py names the files); as root, install them if missing.
system-deps:
	@missing=""; \
	{ command -v mosquitto >/dev/null 2>&1 || test -x /usr/sbin/mosquitto; } || missing="$$missing mosquitto"; \
	test -x /usr/bin/chromium || missing="$$missing chromium"; \
	test -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc || missing="$$missing fonts-wqy-microhei"; \
	test -f /usr/share/fonts/truetype/lao/Phetsarath_OT.ttf || missing="$$missing fonts-lao"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get install -y -q $$missing >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q $$missing >/dev/null; }; \
	  else \
	    echo "missing:$$missing. Install Debian's packages: sudo apt-get install$$missing"; exit 1; \
	  fi; \
	fi
	@rtsp="python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good"; \
	if ! /usr/bin/python3 -c "import gi; gi.require_version('Gst', '1.0'); gi.require_version('GstRtspServer', '1.0'); \
	  from gi.repository import Gst; Gst.init(None); \
	  assert all(Gst.ElementFactory.find(e) for e in ('videotestsrc', 'jpegenc', 'rtpjpegpay', 'appsrc', 'rtph264pay'))" 2>/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian packages for the RTSP camera test: $$rtsp"; \
	    apt-get install -y -q --no-install-recommends $$rtsp >/dev/null || \
	      { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends $$rtsp >/dev/null; }; \
	  else \
	    echo "missing the RTSP test server. Install Debian's packages: sudo apt-get install $$rtsp"; exit 1; \
	  fi; \
	fi
	@if [ -z "$$GATE_EDGE_TEST_POSTGRES" ] && ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && [ -d /etc/postgresql ]; then \
	    echo "starting the local PostgreSQL for the central office tests"; \
	    pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | head -1) main start; \
	  else \
	    echo "no PostgreSQL on 127.0.0.1:5432: install Debian's postgresql or set GATE_EDGE_TEST_POSTGRES"; exit 1; \
	  fi; \
	fi

pytest: $(STAMP) system-deps
	$(BIN)/pytest -q

test: lint typecheck pytest

# The demo needs the runtime only; a checkout already installed for the tests uses that install.
demo: $(if $(wildcard $(STAMP)),$(STAMP),$(RUNTIME_STAMP))
	$(BIN)/gate-edge demo --config config/demo.yaml

screenshots: $(STAMP) system-deps
	KIOSK_SCREENSHOTS_DIR=docs/screenshots $(BIN)/pytest -q tests/kiosk/test_browser.py tests/kiosk/test_browser_history.py tests/central/test_web_browser.py

bench: $(STAMP)
	@for b in benchmarks/bench_*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) build dist *.egg-info
