/*
** txn.c: s3page_transaction, a serializable-transaction retry loop.
**
** Writers on other machines are not kept out by any lock: a transaction
** learns at COMMIT that another writer changed what it read
** (SQLITE_BUSY_SNAPSHOT after rebase found a conflict, rebase.c). The
** remedy is to run it again on the newest version, after a pause that
** grows and is jittered so that the writers that collided do not collide
** again. This is that loop, once, for every application.
*/
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <sqlite3.h>
#include "s3page.h"

/* txn_sleep_ms sleeps ms milliseconds. */
static void txn_sleep_ms(unsigned ms){
  struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
  while(nanosleep(&ts, &ts) != 0){}
}

/* txn_jitter returns a random number in [0, n) (n > 0). */
static unsigned txn_jitter(unsigned n){
  unsigned r = 0;
  if(getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r){
    r = (unsigned)clock() * 2654435761u;
  }
  return r % n;
}

/* txn_retryable returns 1 if rc means "run the transaction again". */
static int txn_retryable(int rc){
  return (rc & 0xff) == SQLITE_BUSY;
}

int s3page_transaction(sqlite3 *db, s3page_txn_fn fn, void *arg,
                       const s3page_retry *opts, int *attempts){
  s3page_retry r = { 10, 10, 1000 };
  if(opts){
    if(opts->max_attempts > 0) r.max_attempts = opts->max_attempts;
    if(opts->base_ms > 0) r.base_ms = opts->base_ms;
    if(opts->max_ms > 0) r.max_ms = opts->max_ms;
  }
  int rc = SQLITE_MISUSE;
  int n = 0;
  for(n = 1; n <= r.max_attempts; n++){
    rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if(rc == SQLITE_OK){
      rc = fn(db, arg);
      if(rc == SQLITE_OK) rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
      if(rc != SQLITE_OK && !sqlite3_get_autocommit(db)){
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
      }
    }
    if(rc == SQLITE_OK || !txn_retryable(rc) || n == r.max_attempts) break;
    /* Exponential, capped, with full jitter. */
    unsigned cap = (unsigned)r.base_ms;
    for(int i = 1; i < n && cap < (unsigned)r.max_ms; i++) cap *= 2;
    if(cap > (unsigned)r.max_ms) cap = (unsigned)r.max_ms;
    txn_sleep_ms(txn_jitter(cap) + 1);
  }
  if(attempts) *attempts = n > r.max_attempts ? r.max_attempts : n;
  return rc;
}
