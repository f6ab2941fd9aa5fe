package proc

// BaseEnv returns the variables of os.Environ named in a fixed allowlist
// (PATH, HOME, locale, language toolchain settings) plus those named in
// allow. Names that look like secrets (TOKEN, SECRET, KEY, PASSWORD, ...)
// are dropped unless allow names them exactly. It never fails.
func BaseEnv(allow []string) []string {
	return nil
}
