//go:build unix && !linux

package main

import "syscall"

// childAttr is empty where the kernel cannot tie a child's life to its parent's; the
// tests' cleanups still kill the servers they started.
func childAttr() *syscall.SysProcAttr { return nil }
