module example.com/moving

go 1.22
