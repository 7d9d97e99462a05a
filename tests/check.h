/*
** check.h: the tiny test harness of s3page's C tests.
**
** Each test program runs named cases with RUN(fn); a case fails if any
** CHECK in it fails. Output is one line per case, "ok - NAME" or
** "not ok - NAME", which tests/run.sh counts; the program exits non-zero if
** any case failed. CHECK prints the file, line and expression that failed.
*/
#ifndef S3P_CHECK_H
#define S3P_CHECK_H

#include <stdio.h>
#include <stdlib.h>

static int check_case_failed;   /* failures in the running case */
static int check_total_failed;  /* cases failed in this program */

#define CHECK(cond) do { \
    if(!(cond)){ \
      fprintf(stdout, "#   %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
      fflush(stdout); \
      check_case_failed++; \
    } \
  } while(0)

/* CHECK_RC compares two integer results and prints both on failure. */
#define CHECK_EQ(a, b) do { \
    long long check_a_ = (long long)(a), check_b_ = (long long)(b); \
    if(check_a_ != check_b_){ \
      fprintf(stdout, "#   %s:%d: %s == %s failed: %lld != %lld\n", \
              __FILE__, __LINE__, #a, #b, check_a_, check_b_); \
      fflush(stdout); \
      check_case_failed++; \
    } \
  } while(0)

#define RUN(fn) do { \
    check_case_failed = 0; \
    fn(); \
    printf("%s - %s\n", check_case_failed ? "not ok" : "ok", #fn); \
    fflush(stdout); \
    if(check_case_failed) check_total_failed++; \
  } while(0)

#define CHECK_DONE() (check_total_failed ? 1 : 0)

#endif
