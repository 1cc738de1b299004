//go:build !linux

package storetest

import (
	"context"
	"errors"
)

// Cluster is a throwaway PostgreSQL server; starting one needs Linux.
type Cluster struct {
	// URL reaches the cluster's "postgres" database.
	URL string
}

// ErrNoPostgres means no throwaway PostgreSQL server can be started here.
var ErrNoPostgres = errors.New("storetest: starting a throwaway PostgreSQL needs Linux; set IDENTITYD_TEST_POSTGRES_URL")

// StartCluster is unavailable off Linux; set IDENTITYD_TEST_POSTGRES_URL instead.
func StartCluster(context.Context) (*Cluster, error) { return nil, ErrNoPostgres }

// Stop does nothing.
func (c *Cluster) Stop() {}
