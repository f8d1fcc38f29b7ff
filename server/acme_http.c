/* SPDX-License-Identifier: MIT */
/* placeholder: being written */
typedef int srv__placeholder_acme_http;
