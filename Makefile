# ovsmesh: `make demo` and `make test` work on a fresh Debian 12 machine as root.
SHELL := /bin/bash
GO ?= go
BIN := bin/ovsmesh
PKGS_APT := python3 openvswitch-switch openvswitch-common openvswitch-testcontroller iproute2 iputils-ping ethtool tcpdump arping iperf3
FUZZTIME ?= 10s
# LABLOCK serialises the lab benchmarks with other labs on a shared machine
# (flock -o: the lab's daemons must not inherit the lock).
LABLOCK ?= /tmp/ovsmesh-lab.lock

.PHONY: all build deps test unit fuzz integration bench demo lint generate check-generated clean fuzz-long soak

all: build

build:
	$(GO) build -o $(BIN) ./cmd/ovsmesh

# deps installs what is missing: Debian packages (OVS and the tools the
# lab and the tests use) and the Go modules.
deps:
	@missing=""; for p in $(PKGS_APT); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" != 0 ]; then echo "missing Debian packages:$$missing (run as root to install them)"; exit 1; fi; \
		echo "installing:$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	$(GO) mod download

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# test: unit tests, a short fuzz run, then the integration suite on real OVS.
test: deps lint unit fuzz check-generated integration

unit:
	$(GO) test -race -count=1 ./...

fuzz:
	$(GO) test ./flows -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME)
	$(GO) test ./flows -run '^$$' -fuzz '^FuzzNegotiateHello$$' -fuzztime $(FUZZTIME)
	$(GO) test ./apps/proxyarp -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME)

# soak: 200 SIGKILLs of a process writing the state file; every cycle the
# file must open and hold every acknowledged write (`make unit` runs 20).
soak:
	OVSMESH_CRASH_CYCLES=200 $(GO) test ./topo -run '^TestCrashDuringWrites$$' -count=1 -timeout 30m -v

fuzz-long:
	$(GO) test ./flows -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime 30m

# integration: real OVS hosts in network namespaces (root only), one lab at a time.
integration: build
	OVSMESH_BIN=$(CURDIR)/$(BIN) $(GO) test -tags integration -p 1 -count=1 -timeout 15m -v ./test/

bench: deps build
	$(GO) test ./flows -run '^$$' -bench . -benchmem
	OVSMESH=$(CURDIR)/$(BIN) bash test/cbench/compare.sh
	$(GO) run ./test/arpbench -ovsmesh $(CURDIR)/$(BIN) -count 100 -tunnel vxlan
	$(GO) build -o bin/dpbench ./test/dpbench && flock -o $(LABLOCK) bin/dpbench -ovsmesh $(CURDIR)/$(BIN)

demo: deps build
	bash scripts/demo.sh

# generate rewrites the OVSDB models from ovsdb/vswitch.ovsschema with
# libovsdb's modelgen; check-generated fails when the committed ones are stale.
generate:
	$(GO) generate ./ovsdb/...

check-generated:
	$(GO) test ./ovsdb/ -run '^TestGeneratedModelsAreCurrent$$' -count=1

clean:
	rm -rf bin
