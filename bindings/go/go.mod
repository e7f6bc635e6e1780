module github.com/libdci/libdci/bindings/go

go 1.22
