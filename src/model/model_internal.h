/*
 * Helpers shared by the model's validators (model_field.c).  Private to
 * src/model/: nothing outside this folder includes it.
 *
 * Every getter reads one member `key` of `obj` and reports errors with the
 * dotted field name "<prefix>.<key>" (or "<key>" when prefix is NULL).  A
 * member that is absent or JSON null takes the default: null means "not
 * set", which is also what a JSON merge patch uses to unset a member, so a
 * POST body and a PATCH body read the same way.
 */
#ifndef ACT_MODEL_MODEL_INTERNAL_H
#define ACT_MODEL_MODEL_INTERNAL_H

#include "base/err.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Room for any field name the model produces (matches struct act_err). */
#define ACT_MODEL_FIELD_LEN 96

/* Write "<prefix>.<key>" (or "<key>") into buf and return buf.
 * thread: any */
char *act_model_field(char *buf, size_t len, const char *prefix, const char *key);

/* The member `key` of obj, or NULL when absent or JSON null.  thread: any */
json_t *act_model_member(const json_t *obj, const char *key);

/* Reject members of `obj` that are neither in `allowed` nor in `ignored`
 * (both NULL-terminated; `ignored` may be NULL): ACT_EINVAL, field
 * "<prefix>.<member>", message "unknown member '<member>'".  thread: any */
int act_model_check_members(const json_t *obj, const char *prefix, const char *const *allowed,
                            const char *const *ignored, struct act_err *err);

/* An integer in [lo, hi]; `def` when absent.  Reals (3.0), booleans and
 * strings are "must be an integer".  thread: any */
int act_model_int(const json_t *obj, const char *prefix, const char *key, int64_t lo, int64_t hi,
                  int64_t def, int64_t *out, struct act_err *err);

/* Like act_model_int but absent/null is a value of its own: *present is
 * false and *out 0.  thread: any */
int act_model_opt_int(const json_t *obj, const char *prefix, const char *key, int64_t lo,
                      int64_t hi, int64_t *out, bool *present, struct act_err *err);

/* A boolean; `def` when absent.  thread: any */
int act_model_bool(const json_t *obj, const char *prefix, const char *key, bool def, bool *out,
                   struct act_err *err);

/* A string of min_len..max_len bytes without NUL bytes.  When absent:
 * `def`, or, when def is NULL, ACT_EINVAL "is required".  *out is
 * borrowed from obj (or is def).  thread: any */
int act_model_str(const json_t *obj, const char *prefix, const char *key, size_t min_len,
                  size_t max_len, const char *def, const char **out, struct act_err *err);

/* Check a string value already fetched (type, length, NUL bytes) and
 * report errors under `field`.  thread: any */
int act_model_check_str(const json_t *v, const char *field, size_t min_len, size_t max_len,
                        struct act_err *err);

#endif
