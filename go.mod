module github.com/schedfuzz/schedfuzz

go 1.26.0

require (
	github.com/go-delve/delve v1.27.2
	github.com/ianlancetaylor/demangle v0.0.0-20260724033716-83e58baca724
	golang.org/x/arch v0.33.0
	golang.org/x/sys v0.49.0
)
