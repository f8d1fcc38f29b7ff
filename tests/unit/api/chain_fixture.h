/* SPDX-License-Identifier: MIT */
/*
 * A fixed test chain for the PEM download tests: a leaf for example.test
 * and *.example.test (P-256) issued by "Fixture Root" (valid until 2126),
 * and the leaf's throw-away private key. Generated once with openssl;
 * nothing trusts it.
 */
#ifndef TEST_API_CHAIN_FIXTURE_H
#define TEST_API_CHAIN_FIXTURE_H

static const char FIX_LEAF[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBnjCCAUOgAwIBAgIULqEDtV2bLUziI//2C+l+O4XX15MwCgYIKoZIzj0EAwIw\n"
	"FzEVMBMGA1UEAwwMRml4dHVyZSBSb290MCAXDTI2MTIwMTE5MDY0MFoYDzIxMjYx\n"
	"MTA3MTkwNjQwWjAXMRUwEwYDVQQDDAxleGFtcGxlLnRlc3QwWTATBgcqhkjOPQIB\n"
	"BggqhkjOPQMBBwNCAAQIxl0K8m1fmfm80fM2nEg4POvSpJi+p2G7bwFj/6gtKcwq\n"
	"dSfcQ95NnKLp5vXmmTC08UBl9Urk7pYNIePEl2foo2swaTAnBgNVHREEIDAeggxl\n"
	"eGFtcGxlLnRlc3SCDiouZXhhbXBsZS50ZXN0MB0GA1UdDgQWBBSYT4RaYcRJvooU\n"
	"nA78TMRlFV5R1zAfBgNVHSMEGDAWgBQ7ZfdFuIfgphgQKbwgpclhl9m1WDAKBggq\n"
	"hkjOPQQDAgNJADBGAiEA9vJDALe6cCDLDeUSE2+/G9d86ZsthiMeTdT/qwr9ItgC\n"
	"IQDtrrAZscB0F3/fLoBhTepbuTh7GtSnJnS09oawADdhaQ==\n"
	"-----END CERTIFICATE-----\n";

static const char FIX_ROOT[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBhDCCASugAwIBAgIUJojFdJJuU2uNcNR+rFK6Vh40P6EwCgYIKoZIzj0EAwIw\n"
	"FzEVMBMGA1UEAwwMRml4dHVyZSBSb290MCAXDTI2MTIwMTE5MDYzOVoYDzIxMjYx\n"
	"MTA3MTkwNjM5WjAXMRUwEwYDVQQDDAxGaXh0dXJlIFJvb3QwWTATBgcqhkjOPQIB\n"
	"BggqhkjOPQMBBwNCAAQQSaxUr+QsxRz8rUqKfR1SnVdAjfbJKZwgoqkWnVfS7hgs\n"
	"9jQwKKeMgfF9ljzbvbuwVFbTGkSymD40I4HaV4FJo1MwUTAdBgNVHQ4EFgQUO2X3\n"
	"RbiH4KYYECm8IKXJYZfZtVgwHwYDVR0jBBgwFoAUO2X3RbiH4KYYECm8IKXJYZfZ\n"
	"tVgwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNHADBEAiBCzAhDOAUZ3fHr\n"
	"ZwN4zyd7f5WLFGKov9gRcqICUwI2LAIga5g/8yPtj5bKP9zYU5rOalmjl2XdnLr6\n"
	"665eo/Bsh6E=\n"
	"-----END CERTIFICATE-----\n";

static const char FIX_KEY[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg61IyGhK33yCn3pt+\n"
	"KfcM3PDW0aEboHeOir2IS1EjzA2hRANCAAQIxl0K8m1fmfm80fM2nEg4POvSpJi+\n"
	"p2G7bwFj/6gtKcwqdSfcQ95NnKLp5vXmmTC08UBl9Urk7pYNIePEl2fo\n"
	"-----END PRIVATE KEY-----\n";

#endif
