/*
** verify.c: s3page_verify, an integrity check of the store.
**
** For the versions checked (one, or every version the store keeps), every
** commit record needed to open them is read, decoded and compared with its
** parent; every checkpoint tree they start from is walked (each node once,
** even when shared between checkpoints), and every page object named by a
** tree or a record is fetched and decoded against its name. Problems are
** reported one by one and the check goes on; only a store that cannot be
** read at all stops it.
*/
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include "internal.h"
#include "../index/head.h"
#include "../index/page.h"
#include "../index/tail.h"

/* Records fetched per batch. */
#define VERIFY_CHUNK 256

/* The state of one verification. */
typedef struct verify_state {
  s3p_db *db;                /* the database */
  void (*problem)(void *, const char *);  /* problem reporter or NULL */
  void *arg;                 /* its argument */
  s3p_hset nodes;            /* nodes walked */
  s3p_hset pages;            /* page objects to check, value: page size */
  s3page_verify_result res;  /* counters */
} verify_state;

/* verify_problem reports one problem. */
static void verify_problem(verify_state *vs, const char *fmt, ...){
  va_list ap;
  va_start(ap, fmt);
  char *m = sqlite3_vmprintf(fmt, ap);
  va_end(ap);
  vs->res.problems++;
  if(vs->problem) vs->problem(vs->arg, m ? m : "out of memory");
  sqlite3_free(m);
}

/* Page size of the tree being walked (for verify_walk_page). */
typedef struct verify_walk {
  verify_state *vs;          /* the verification */
  uint32_t page_size;        /* page size of the checkpoint's version */
} verify_walk;

/* verify_walk_problem is the tree walk's problem callback. */
static void verify_walk_problem(void *arg, const char *msg){
  verify_state *vs = ((verify_walk *)arg)->vs;
  vs->res.problems++;
  if(vs->problem) vs->problem(vs->arg, msg);
}

/* verify_walk_page queues a page named by a tree. Returns 0 or
** SQLITE_NOMEM. */
static int verify_walk_page(void *arg, uint32_t pgno, const s3p_hash *h){
  verify_walk *w = arg;
  (void)pgno;
  return s3p_hset_add(&w->vs->pages, h, w->page_size) < 0 ? SQLITE_NOMEM : 0;
}

/* verify_tree walks the checkpoint tree of rec (once per distinct root).
** Returns SQLITE_OK or an error that stopped the walk. */
static int verify_tree(verify_state *vs, const s3p_record *rec,
                       uint32_t page_size){
  s3p_treeref t = { rec->ckpt_root, rec->ckpt_level };
  verify_walk vw = { vs, page_size };
  s3p_hwalk w;
  memset(&w, 0, sizeof w);
  w.db = vs->db;
  w.visited = &vs->nodes;
  w.page = verify_walk_page;
  w.problem = verify_walk_problem;
  w.arg = &vw;
  int rc = s3p_hist_walk(&w, &t);
  vs->res.nodes += w.nodes;
  vs->res.bytes += w.bytes;
  return rc;
}

/* verify_pages fetches and decodes every queued page object. Returns
** SQLITE_OK or an error that stopped the check. */
static int verify_pages(verify_state *vs, s3page_progress_fn progress,
                        void *parg){
  s3p_db *db = vs->db;
  s3p_op ops[S3P_HIST_BATCH];
  char keys[S3P_HIST_BATCH][S3P_KEY_MAX];
  size_t idx[S3P_HIST_BATCH];
  unsigned char *page = malloc(S3P_PAGE_MAX);
  uint64_t done = 0;
  int rc = SQLITE_OK;
  if(!page) return s3p_db_error(db, SQLITE_NOMEM, "out of memory");
  size_t i = 0;
  while(i < vs->pages.nslot && rc == SQLITE_OK){
    size_t n = 0;
    for(; i < vs->pages.nslot && n < S3P_HIST_BATCH; i++){
      if(s3p_hash_is_zero(&vs->pages.keys[i])) continue;
      memset(&ops[n], 0, sizeof ops[n]);
      s3p_hash_key(keys[n], "pages", &vs->pages.keys[i]);
      ops[n].kind = S3P_OP_GET;
      ops[n].key = keys[n];
      idx[n] = i;
      n++;
    }
    if(n == 0) break;
    int src = s3p_store_exec(db->store, ops, n);
    if(src) rc = s3p_db_store_error(db, src, SQLITE_IOERR_READ, "GET", keys[0],
                                    NULL);
    for(size_t k = 0; k < n; k++){
      if(rc == SQLITE_OK){
        const s3p_hash *h = &vs->pages.keys[idx[k]];
        uint32_t psz = vs->pages.vals[idx[k]];
        if(ops[k].rc == S3P_ENOTFOUND){
          verify_problem(vs, "%s: page object %s is missing", db->store->desc,
                         keys[k]);
        }else if(ops[k].rc){
          rc = s3p_db_store_error(db, ops[k].rc, SQLITE_IOERR_READ, "GET",
                                  keys[k], ops[k].errmsg);
        }else{
          const char *why = NULL;
          vs->res.pages++;
          vs->res.bytes += ops[k].len;
          if(s3p_page_decode(page, psz, h, ops[k].data, ops[k].len, &why)){
            verify_problem(vs, "%s: page object %s is corrupt: %s",
                           db->store->desc, keys[k], why ? why : "?");
          }
        }
      }
      s3p_op_reset(&ops[k]);
    }
    done += n;
    if(progress) progress(parg, done, vs->pages.count);
  }
  free(page);
  return rc;
}

/* verify_hints checks that HEAD and TAIL, when present, decode and name
** versions in [oldest, latest] (HEAD may lag, but not below what exists). */
static int verify_hints(verify_state *vs, uint64_t oldest, uint64_t latest){
  s3p_db *db = vs->db;
  const char *names[2] = { "HEAD", "TAIL" };
  for(int i = 0; i < 2; i++){
    unsigned char *data = NULL;
    size_t len = 0;
    char *msg = NULL;
    int src = s3p_store_get(db->store, names[i], &data, &len, &msg);
    if(src == S3P_OK){
      uint64_t v = 0;
      const char *why = NULL;
      s3p_head head;
      int bad = i == 0 ? s3p_head_decode(&head, data, len, &why)
                       : s3p_tail_decode(&v, data, len, &why);
      if(i == 0 && !bad) v = head.version;
      if(bad){
        verify_problem(vs, "%s: %s is corrupt: %s", db->store->desc, names[i],
                       why ? why : "?");
      }else if(v > latest){
        verify_problem(vs, "%s: %s names version %llu, beyond the newest "
                       "(%llu)", db->store->desc, names[i],
                       (unsigned long long)v, (unsigned long long)latest);
      }else if(i == 1 && v < oldest){
        /* Records below TAIL lingering after an interrupted gc are only
        ** garbage; a TAIL below the oldest record is what is odd. */
        verify_problem(vs, "%s: TAIL names version %llu but the oldest record "
                       "is %llu", db->store->desc, (unsigned long long)v,
                       (unsigned long long)oldest);
      }
    }else if(src != S3P_ENOTFOUND){
      int rc = s3p_db_store_error(db, src, SQLITE_IOERR_READ, "GET", names[i],
                                  msg);
      free(msg);
      free(data);
      return rc;
    }
    free(msg);
    free(data);
  }
  return SQLITE_OK;
}

/* verify_follow compares record r with its parent p (NULL when the parent
** was not read), reporting inconsistencies. */
static void verify_follow(verify_state *vs, const s3p_record *p,
                          const s3p_record *r){
  const char *desc = vs->db->store->desc;
  unsigned long long v = r->version;
  if(!p){
    if(r->ckpt_version != r->version && r->ckpt_version + 1 < r->version){
      verify_problem(vs, "%s: version %llu starts from checkpoint %llu but "
                     "the records between are gone", desc, v,
                     (unsigned long long)r->ckpt_version);
    }
    return;
  }
  if(r->time_ms < p->time_ms){
    verify_problem(vs, "%s: version %llu was committed before its parent",
                   desc, v);
  }
  if(r->ckpt_version == r->version) return;  /* carries its own map */
  if(r->ckpt_version != p->ckpt_version || r->ckpt_level != p->ckpt_level ||
     !s3p_hash_eq(&r->ckpt_root, &p->ckpt_root)){
    verify_problem(vs, "%s: version %llu names checkpoint %llu, its parent "
                   "%llu", desc, v, (unsigned long long)r->ckpt_version,
                   (unsigned long long)p->ckpt_version);
  }
  if(r->page_size != p->page_size){
    verify_problem(vs, "%s: version %llu changes the page size from %u to %u "
                   "without a checkpoint", desc, v, (unsigned)p->page_size,
                   (unsigned)r->page_size);
  }
  if(r->trunc_mark > p->page_count){
    verify_problem(vs, "%s: version %llu has truncation mark %u above its "
                   "parent's %u pages", desc, v, (unsigned)r->trunc_mark,
                   (unsigned)p->page_count);
  }
}

/* verify_range checks records lo..hi (all must exist) and queues what
** they reference. Returns SQLITE_OK or an error that stopped the check. */
static int verify_range(verify_state *vs, uint64_t lo, uint64_t hi){
  s3p_db *db = vs->db;
  s3p_record prev, recs[VERIFY_CHUNK];
  int have_prev = 0, rc = SQLITE_OK;
  memset(&prev, 0, sizeof prev);
  for(uint64_t a = lo; a <= hi && rc == SQLITE_OK; a += VERIFY_CHUNK){
    uint64_t b = hi - a >= VERIFY_CHUNK ? a + VERIFY_CHUNK - 1 : hi;
    size_t n = (size_t)(b - a + 1);
    /* One batch; a missing or corrupt record is a problem, not a stop. */
    s3p_op ops[VERIFY_CHUNK];
    char keys[VERIFY_CHUNK][32];
    memset(ops, 0, sizeof ops);
    for(size_t i = 0; i < n; i++){
      s3p_record_key(keys[i], a + i);
      ops[i].kind = S3P_OP_GET;
      ops[i].key = keys[i];
    }
    int src = s3p_store_exec(db->store, ops, n);
    if(src) rc = s3p_db_store_error(db, src, SQLITE_IOERR_READ, "GET", keys[0],
                                    NULL);
    for(size_t i = 0; i < n; i++){
      int ok = 0;
      memset(&recs[i], 0, sizeof recs[i]);
      if(rc == SQLITE_OK){
        if(ops[i].rc == S3P_ENOTFOUND){
          verify_problem(vs, "%s: commit record %s is missing", db->store->desc,
                         keys[i]);
        }else if(ops[i].rc){
          rc = s3p_db_store_error(db, ops[i].rc, SQLITE_IOERR_READ, "GET",
                                  keys[i], ops[i].errmsg);
        }else{
          const char *why = NULL;
          int drc = s3p_record_decode(&recs[i], ops[i].data, ops[i].len, &why);
          vs->res.bytes += ops[i].len;
          if(drc == S3P_ENOMEM){
            rc = s3p_db_error(db, SQLITE_NOMEM, "out of memory");
          }else if(drc){
            verify_problem(vs, "%s: commit record %s is corrupt: %s",
                           db->store->desc, keys[i], why ? why : "?");
          }else if(recs[i].version != a + i){
            verify_problem(vs, "%s: commit record %s says it is version %llu",
                           db->store->desc, keys[i],
                           (unsigned long long)recs[i].version);
            s3p_record_free(&recs[i]);
          }else{
            ok = 1;
          }
        }
      }
      s3p_op_reset(&ops[i]);
      if(!ok){
        if(have_prev) s3p_record_free(&prev);
        have_prev = 0;
        continue;
      }
      s3p_record *r = &recs[i];
      vs->res.records++;
      verify_follow(vs, have_prev ? &prev : NULL, r);
      for(uint32_t c = 0; c < r->nchange && rc == SQLITE_OK; c++){
        if(s3p_hset_add(&vs->pages, &r->changes[c].hash, r->page_size) < 0){
          rc = s3p_db_error(db, SQLITE_NOMEM, "out of memory");
        }
      }
      if(rc == SQLITE_OK && (r->ckpt_version == r->version || !have_prev)){
        rc = verify_tree(vs, r, r->page_size);
      }
      if(have_prev) s3p_record_free(&prev);
      prev = *r;
      memset(r, 0, sizeof *r);
      have_prev = 1;
    }
  }
  if(have_prev) s3p_record_free(&prev);
  return rc;
}

int s3page_verify(const char *name, const s3page_at *at, int all,
                  void (*problem)(void *arg, const char *msg),
                  s3page_progress_fn progress, void *arg,
                  s3page_verify_result *res, char **errmsg){
  verify_state vs;
  memset(&vs, 0, sizeof vs);
  if(errmsg) *errmsg = NULL;
  if(res) memset(res, 0, sizeof *res);
  vs.problem = problem;
  vs.arg = arg;
  /* Open the newest version without loading a pinned one: verify reads
  ** the records itself, so a damaged version is reported, not refused. A
  ** newest version that cannot be opened (a record gone or damaged) is a
  ** problem too: the database is unusable, and nothing else is checked. */
  char *omsg = NULL;
  int rc = s3p_hist_open(&vs.db, name, 0, 0, NULL, &omsg);
  if(rc){
    verify_problem(&vs, "%s", omsg ? omsg : sqlite3_errstr(rc));
    if(res) *res = vs.res;
    if(errmsg) *errmsg = omsg; else sqlite3_free(omsg);
    return rc;
  }
  s3p_db *db = vs.db;
  uint64_t latest = db->view.version, oldest = 0, target = latest;
  if(latest == 0){
    rc = s3p_db_error(db, SQLITE_CANTOPEN, "%s: no database here (no commit "
                      "records)", db->store->desc);
    verify_problem(&vs, "%s", s3p_db_errmsg(db));
    if(res) *res = vs.res;
    return s3p_hist_finish(db, rc, errmsg);
  }
  rc = s3p_version_oldest(db, latest, &oldest);
  if(rc == SQLITE_OK && at && at->has_asof){
    rc = s3p_version_asof(db, at->asof_ms, &target);
    if(rc == SQLITE_NOTFOUND) rc = db->errcode ? db->errcode : SQLITE_CANTOPEN;
  }else if(at && at->version){
    target = at->version;
    if(target > latest || target < oldest){
      rc = s3p_db_error(db, SQLITE_CANTOPEN, "%s: version %llu does not exist "
                        "(versions %llu to %llu do)", db->store->desc,
                        (unsigned long long)target, (unsigned long long)oldest,
                        (unsigned long long)latest);
    }
  }
  vs.res.oldest = oldest;
  vs.res.newest = latest;
  uint64_t lo = target, hi = target;
  if(rc == SQLITE_OK && all){
    lo = oldest;
    hi = latest;
  }else if(rc == SQLITE_OK){
    /* One version: its record and those it replays on its checkpoint. */
    s3p_record rec;
    rc = s3p_db_get_record(db, target, &rec);
    if(rc == SQLITE_NOTFOUND){
      rc = s3p_db_error(db, SQLITE_CORRUPT, "%s: commit record of version "
                        "%llu is missing", db->store->desc,
                        (unsigned long long)target);
    }
    if(rc == SQLITE_OK){
      lo = rec.ckpt_version == target ? target :
           (rec.ckpt_version + 1 < oldest ? oldest : rec.ckpt_version + 1);
      s3p_record_free(&rec);
    }else if(rc == SQLITE_CORRUPT){
      verify_problem(&vs, "%s", s3p_db_errmsg(db));
      rc = SQLITE_OK;
      lo = hi + 1;   /* nothing more to read */
    }
  }
  if(rc == SQLITE_OK) rc = verify_hints(&vs, oldest, latest);
  if(rc == SQLITE_OK && lo <= hi) rc = verify_range(&vs, lo, hi);
  if(rc == SQLITE_OK) rc = verify_pages(&vs, progress, arg);
  vs.res.versions = all ? latest - oldest + 1 : 1;
  if(rc != SQLITE_OK){
    /* An error that stopped the check is a problem like any other. */
    const char *m = s3p_db_errmsg(db);
    verify_problem(&vs, "%s", m ? m : sqlite3_errstr(rc));
  }
  if(res) *res = vs.res;
  if(rc == SQLITE_OK && vs.res.problems){
    rc = s3p_db_error(db, SQLITE_CORRUPT, "%s: %llu problem%s found",
                      db->store->desc, (unsigned long long)vs.res.problems,
                      vs.res.problems == 1 ? "" : "s");
  }
  s3p_hset_free(&vs.nodes);
  s3p_hset_free(&vs.pages);
  return s3p_hist_finish(db, rc, errmsg);
}
