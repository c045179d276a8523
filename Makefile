# apex: make deps | build | test | bench | demo | fuzz
SHELL := /bin/bash
GO ?= go
export XDG_RUNTIME_DIR ?= /tmp/apex-xdg
# Debian packages the project needs: MuJoCo 2.2.2 for the cross-check and the
# speed reference, Mesa's lavapipe (a software Vulkan device) for the WGSL
# kernels when there is no GPU.
DEB_PACKAGES := libopenblas0 libmujoco-dev libmujoco-samples mesa-vulkan-drivers libvulkan1 libx11-dev libxcursor-dev libxrandr-dev libxinerama-dev libxi-dev libxxf86vm-dev libgl1-mesa-dev xvfb
MISSING = $(shell for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done)

.PHONY: deps build test vet bench demo fuzz clean

deps:
	@mkdir -p $(XDG_RUNTIME_DIR) && chmod 700 $(XDG_RUNTIME_DIR)
	@missing="$(MISSING)"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "make deps: installing $$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "make deps: missing Debian packages; run:"; \
	    echo "  sudo apt-get update && sudo apt-get install -y $$missing"; exit 1; \
	  fi; \
	fi

build:
	$(GO) build -o bin/apex ./cmd/apex

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...

# Unit, parity and physics tests; then the cross-check against MuJoCo (build
# tag mujoco, needs libmujoco-dev from make deps, and the reference models in
# models/), verbose so that its test names show. On a machine set up by make
# deps every test can run (lavapipe for WebGPU, Xvfb for the window, MuJoCo's
# testspeed), so a skipped test fails make test: the unit run is verbose into
# a log, whose package lines are shown (all of it when a test fails), and any
# SKIP is listed with its reason.
# llvmpipe compiles the tests' kernels without LLVM's optimisation passes
# (GALLIVM_PERF=nopt, about 5× faster to compile; a GPU driver ignores it):
# the tests check results, not lavapipe's speed.
test: export GALLIVM_PERF ?= nopt
test: deps vet
	@set -o pipefail; log=$$(mktemp); trap 'rm -f "$$log"' EXIT; \
	echo "$(GO) test -count=1 -timeout 30m -v ./..."; \
	if ! $(GO) test -count=1 -timeout 30m -v ./... >"$$log" 2>&1; then cat "$$log"; exit 1; fi; \
	grep -E '^(ok|FAIL|\?) ' "$$log"; \
	if grep -q -- '--- SKIP' "$$log"; then grep -A1 -- '--- SKIP' "$$log"; \
	  echo "make test: tests skipped (above); after make deps every test must run"; exit 1; fi
	@set -o pipefail; log=$$(mktemp); trap 'rm -f "$$log"' EXIT; \
	echo "$(GO) test -count=1 -timeout 5m -tags mujoco -v -run 'MuJoCo|Mjref|Mjeval' ./internal/mjref/ ./internal/mjeval/ ./batchsim/"; \
	$(GO) test -count=1 -timeout 5m -tags mujoco -v -run 'MuJoCo|Mjref|Mjeval' ./internal/mjref/ ./internal/mjeval/ ./batchsim/ 2>&1 | tee "$$log" || \
	  { echo "make test: the MuJoCo cross-check failed (above)"; exit 1; }; \
	if grep -q -- '--- SKIP' "$$log"; then echo "make test: the MuJoCo cross-check skipped tests (above): it must run them all"; exit 1; fi; \
	grep -q -- '--- PASS: TestMuJoCo' "$$log" || { echo "make test: the MuJoCo cross-check ran no TestMuJoCo test"; exit 1; }
	@# The GPU path end to end (issue 14's device script at small sizes) on
	@# this machine's WebGPU device (lavapipe without a GPU), with a fresh build.
	@dir=$$(mktemp -d); trap 'rm -rf "$$dir"' EXIT; \
	echo "QUICK=1 scripts/device-check.sh (the GPU path end to end)"; \
	$(GO) build -o "$$dir/apex" ./cmd/apex && \
	APEX="$$dir/apex" QUICK=1 scripts/device-check.sh "$$dir/device-check.txt" >/dev/null 2>&1 || \
	  { cat "$$dir/device-check.txt"; echo "make test: scripts/device-check.sh failed (above)"; exit 1; }; \
	grep -c '^\$$ ' "$$dir/device-check.txt" | xargs echo "device check: commands run:"

bench: deps build
	$(GO) test -run '^$$' -bench . -benchtime 2x ./batchsim/ ./gpu/
	./bin/apex bench --task halfcheetah

demo: deps build
	./bin/apex demo

# Fuzz every reader of user files, one target after another, FUZZTIME each
# (six targets: about 10 minutes in all). Their seed corpora run in make
# test. A failing target does not stop the others; the failures are listed
# at the end, with the reproducer under PACKAGE/testdata/fuzz/TARGET/.
FUZZTIME ?= 100s
# Minimising each new interesting input for long stalls the fuzzer on the
# 10 KB reference models (10 s each: a few execs in 30 s, 5000/s at 1 s).
FUZZMINIMIZE ?= 1s
FUZZ_TARGETS := \
	./batchsim/:FuzzLoadXML \
	./viewer/:FuzzReadTraj \
	./apex/:FuzzLoadPolicy \
	./apex/:FuzzLoadRunConfig \
	./apex/:FuzzLoadState \
	./cmd/apex/:FuzzControls
fuzz:
	@failed=""; \
	for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; name=$${t##*:}; \
	  echo "== $$name ($$pkg, $(FUZZTIME))"; \
	  $(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) -parallel 1 $$pkg || failed="$$failed $$name"; \
	done; \
	if [ -n "$$failed" ]; then echo "make fuzz: failed:$$failed"; exit 1; fi; \
	echo "make fuzz: all targets ran $(FUZZTIME) without a failure"

clean:
	rm -rf bin
