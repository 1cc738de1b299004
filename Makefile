# The README's commands. `make test` is the whole suite, as CI runs it.
GO ?= go

.PHONY: run test bench vet fmt build

run: ## identityd on the embedded database, dev mode
	$(GO) run ./cmd/identityd serve --dev

test: ## every test, on SQLite and on a throwaway PostgreSQL, with the race detector; then the memory measurements without it
	$(GO) run ./store/storetest/withpostgres -- $(GO) test -race -count=1 -timeout 30m ./...
	$(GO) run ./store/storetest/withpostgres -- $(GO) test -count=1 -timeout 10m -run '^TestMemory' ./...

bench: ## the Go benchmarks (hot paths); see README for how to read them
	$(GO) run ./store/storetest/withpostgres -- $(GO) test -run '^$$' -bench . -benchmem -count 1 ./...

vet:
	$(GO) vet ./...

fmt:
	gofmt -l -w $$(git ls-files '*.go')

build: ## a static binary in ./bin
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/identityd ./cmd/identityd
