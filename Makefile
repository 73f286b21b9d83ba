# Qianliyan — one command to run the demo, one to pass the tests.
#   make demo   simulated cameras + Redis + the bridge on http://localhost:8080
#   make test   everything the CI runs
# Both install what is missing first (make deps): Debian packages, npm
# packages for the browser tests, and a Redis server on loopback.

SHELL := /bin/bash
GO ?= go
REDIS_PORT ?= 6379
RUN := .run
APT_PKGS := g++ lld libopencv-dev libavcodec-dev libavutil-dev libswscale-dev libswresample-dev pkg-config redis-server ffmpeg chromium fonts-wqy-microhei
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
TEST_TIMEOUT ?= 14m

export QLY_REDIS_URL ?= redis://127.0.0.1:$(REDIS_PORT)/0

# Link only the libraries something live refers to. gocv wraps every
# OpenCV module, and highgui, imgcodecs and videoio bring Qt, GDAL,
# GStreamer and 150 more shared libraries that detection never calls.
# GNU ld keeps them all; lld drops what --gc-sections left unreferenced:
# the bridge maps 114 libraries instead of 264 and starts 48 MB smaller.
# --gc-sections goes to the final link only: in cgo's own trial links it
# would drop libc.
export CGO_LDFLAGS ?= -fuse-ld=lld -Wl,--as-needed
# nomsgpack: gin's MessagePack binding (which the API does not offer)
# brings 3 MB of codec code, all of it mapped: the bridge runs 4.7 MB
# smaller without it.
export GOFLAGS ?= -ldflags=-extldflags=-Wl,--gc-sections -tags=nomsgpack

.PHONY: all deps apt-deps npm-deps redis build demo test bench eval lint clean

all: build

deps: apt-deps npm-deps

# Installs only what is missing; does nothing on a machine that has it all.
apt-deps:
	@missing=""; for p in $(APT_PKGS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

npm-deps:
	@if [ -f tests/browser/package.json ] && [ ! -d tests/browser/node_modules/playwright-core ]; then \
		cd tests/browser && npm ci --no-audit --no-fund --loglevel=error; \
	fi

# Starts redis-server on loopback (AOF on) unless one already answers.
redis: apt-deps
	@if ! redis-cli -p $(REDIS_PORT) ping >/dev/null 2>&1; then \
		mkdir -p $(RUN)/redis && \
		redis-server --port $(REDIS_PORT) --bind 127.0.0.1 --daemonize yes \
			--appendonly yes --appendfsync everysec --dir $(CURDIR)/$(RUN)/redis \
			--logfile $(CURDIR)/$(RUN)/redis/redis.log && \
		for i in $$(seq 50); do redis-cli -p $(REDIS_PORT) ping >/dev/null 2>&1 && break; sleep 0.1; done; \
		redis-cli -p $(REDIS_PORT) ping >/dev/null || { echo "redis did not start: see $(RUN)/redis/redis.log"; exit 1; }; \
		echo "redis started on 127.0.0.1:$(REDIS_PORT)"; \
	fi

build: apt-deps
	$(GO) build -o bin/bridge ./cmd/bridge
	$(GO) build -o bin/camsim ./cmd/camsim

# The demo: 10 simulated cameras and 2 scripted scenes, Redis and the
# bridge; Ctrl-C stops all.
demo: deps redis build
	@echo "starting camsim and the bridge; open http://localhost:8080/api/cameras (Ctrl-C to stop)"
	@echo "demo logins (POST /api/login {\"user\", \"password\"}; configs/demo.yaml):"
	@echo "  admin    / admin-demo     admin"
	@echo "  staff    / staff-demo     center staff (值班人员); scripts and the wall may use the token demo-staff-token"
	@echo "  worker1  / worker1-demo   grid worker (网格员) of hexia-01 and hexia-02"
	@echo "  worker2  / worker2-demo   grid worker of hexia-03"
	@echo "  resident / resident-demo  resident (居民); residents without an account get a device token"
	@# Both run in the background and a stop (Ctrl-C, kill) is passed to
	@# each: the bridge ends its sessions and camsim goes too. (A trap of
	@# 'kill 0' on TERM signalled its own shell again and again: bash
	@# crashed and camsim was left holding port 8554.)
	@bin/camsim -cameras 10 -fps 15 -sub 640x360 -scene bin -scene loiter -addr :8554 & cs=$$!; \
		bin/bridge -config configs/demo.yaml & br=$$!; \
		trap 'kill $$cs $$br 2>/dev/null; wait $$br' INT TERM; \
		trap 'kill $$cs 2>/dev/null' EXIT; \
		wait $$br

lint:
	@out="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"; \
		if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

test: deps redis lint
	# one package at a time: the end-to-end tests measure seconds, and two
	# packages of them at once on two cores make each other late
	$(GO) test -count=1 -p 1 -timeout $(TEST_TIMEOUT) ./...

# Benchmarks only (no tests): figures for the README. The system ones run
# whole setups (camsim, the bridge, viewers) once each; the small ones run
# as long as Go likes.
SYSTEM_BENCH := BenchmarkIngest|BenchmarkRecord|BenchmarkRelay|BenchmarkHeldClients|BenchmarkChromiumFirstFrame|BenchmarkIncidentLatency|BenchmarkIdleCameras|BenchmarkDecode|BenchmarkTaskAPI|BenchmarkOverview128|BenchmarkScale128|BenchmarkWall16|BenchmarkClusterAPI
bench: deps redis
	$(GO) test -run '^$$' -bench '$(SYSTEM_BENCH)' -benchtime 1x -timeout 30m -p 1 ./...
	$(GO) test -run '^$$' -bench 'BenchmarkPublish4Subscribers|BenchmarkAnalyzers|BenchmarkPeople|BenchmarkAACToOpus|BenchmarkStatsMonth|BenchmarkThumbnail' -timeout 10m -p 1 ./...

# Detection accuracy: camsim's eval-* scenes played in real time against
# the real bridge, scored against the ground truth their scripts give
# (internal/eval). Prints the table (also in .run/eval.md); fails only on a
# broken run, not on scores. EVAL_VIDEO=FILE also plays a video file,
# without ground truth (counts only); EVAL_MODE=auto runs detection in auto
# mode (default: active).
eval: apt-deps redis
	@mkdir -p $(RUN)
	QLY_EVAL=1 QLY_EVAL_OUT=$(CURDIR)/$(RUN) QLY_EVAL_VIDEO=$(EVAL_VIDEO) QLY_EVAL_MODE=$(EVAL_MODE) $(GO) test -count=1 -run '^TestEvalScenes$$' -timeout 15m -v ./internal/eval

clean:
	rm -rf bin $(RUN)
