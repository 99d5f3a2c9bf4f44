/* crl_ca.h: written by tests/fuzz/mkcorpus.sh with the corpus/crl seeds (the CA
 * that signed them; public, its dates irrelevant to the harness). Do not edit. */
#define FUZZ_CRL_CA_PEM \
	"-----BEGIN CERTIFICATE-----\n" \
	"MIIB0jCCAXegAwIBAgIUcODNPd8ow7XDQJb11yuKNtVZeWAwCgYIKoZIzj0EAwIw\n" \
	"NjERMA8GA1UECgwIcm9nYXRvcnkxITAfBgNVBAMMGHJvZ2F0b3J5IG5ldHdvcmsg\n" \
	"cm9vdCBDQTAeFw0yNjExMjcyMDA4MDVaFw0zNjExMjQyMDA4MDVaMDYxETAPBgNV\n" \
	"BAoMCHJvZ2F0b3J5MSEwHwYDVQQDDBhyb2dhdG9yeSBuZXR3b3JrIHJvb3QgQ0Ew\n" \
	"WTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAATf+zo0dSQTJAcmKxCz4qEij0/vNLvB\n" \
	"X9nBjukUYwYTqw+g70V8RiNWuahjOV0azP97HcCNJOluRHa8T/9aCdHso2MwYTAP\n" \
	"BgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB/wQEAwIBBjAdBgNVHQ4EFgQUh2Z0dCoR\n" \
	"turmB/dJ740S867HunkwHwYDVR0jBBgwFoAUh2Z0dCoRturmB/dJ740S867Hunkw\n" \
	"CgYIKoZIzj0EAwIDSQAwRgIhAOiFG5BiZCpqVrueV4EIsvtcESdTg9Q5tqzbG5Dm\n" \
	"2WaSAiEA9/Ugr0i3T/FkFpo7Tdh6dlkCBAcaAdlF7CkDR1xR/h0=\n" \
	"-----END CERTIFICATE-----\n" \
	""
