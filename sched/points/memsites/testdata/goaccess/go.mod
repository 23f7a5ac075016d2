module example.com/goaccess

go 1.25
