package proc

// seatbeltExec: Seatbelt is macOS's; Linux has bwrap and namespaces.
func seatbeltExec() (string, string) { return "", "" }
