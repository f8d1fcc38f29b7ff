/* SPDX-License-Identifier: MIT */
/* placeholder: being written */
typedef int acme__placeholder_msg;
