/*
** copy.c: s3page_copy, a database with its whole history from one
** store to another (directory to S3, S3 to S3, S3 to a directory).
**
** Order makes every moment of the copy a consistent database on DST:
**   1. the newest version N of SRC is read first, then SRC's pages/ and
**      index/ are listed (every object a version up to N references was
**      written before N's record, so it is in the listing unless gc
**      removed it), and so are DST's;
**   2. every page and node object DST lacks is copied, byte for byte, in
**      batches of parallel GETs then parallel PUTs (names are content
**      hashes: a PUT of an object DST already has is harmless);
**   3. TAIL, then the records from SRC's oldest kept version (or DST's
**      newest + 1) up to N are created in DST with create-if-absent, in
**      order, so a record never exists before the objects it names;
**      with since, from the checkpoint version since starts from (its
**      records are needed to open it), TAIL naming it, and only the
**      objects those versions use (their checkpoint trees walked, their
**      records' pages);
**   4. DST's HEAD hint names N.
** With until (s3page_copy_range), N is until instead of SRC's newest: with
** since == until, one version and the records opening it needs.
** DST is a bulk writer's target (docs/history.md, "Bulk writers"): a marker
** (s3p_lease_*) is held from before the first upload to the last record,
** renewed before every batch, so gc on DST spares the copied objects no
** record names yet; and DST's newest version is looked up afresh before
** every batch of records (copy_fresh), never taken from when the copy
** began, so a record is never created behind newer versions of DST.
** An interrupted copy leaves DST readable at whatever version its records
** reached; running it again lists DST again, so it uploads only what is
** missing. A record DST already has must be byte-identical to SRC's:
** otherwise DST holds another database and the copy stops.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include "internal.h"

/* Objects whose names a copy collects from a listing. */
typedef struct copy_keys {
  char (*k)[S3P_KEY_MAX];    /* keys */
  uint64_t *size;            /* their sizes */
  size_t n;                  /* used */
  size_t cap;                /* allocated */
  s3p_hset *skip;            /* hashes DST holds (NULL: keep all) */
  s3p_hset *set;             /* or: collect hashes into this set */
  s3p_hset *old;             /* ... those modified before young_s into
                             ** this one instead (NULL: all into set) */
  int64_t young_s;           /* see old (Unix seconds) */
  int nomem;                 /* set when out of memory */
} copy_keys;

/* copy_key_hash parses "pages/xxh128-HEX" or "index/xxh128-HEX" (the
** canonical spelling only) into *h. Returns 1 if it is such a key. */
static int copy_key_hash(const char *key, s3p_hash *h){
  int is_page = !strncmp(key, "pages/", 6);
  if(!is_page && strncmp(key, "index/", 6)) return 0;
  size_t plen = strlen(S3P_HASH_PREFIX);
  const char *name = key + 6;
  if(strncmp(name, S3P_HASH_PREFIX, plen) ||
     strlen(name + plen) != S3P_HASH_HEXLEN || s3p_hash_from_hex(h, name + plen)){
    return 0;
  }
  char canon[S3P_KEY_MAX];
  s3p_hash_key(canon, is_page ? "pages" : "index", h);
  return !strcmp(canon, key);
}

/* copy_list_cb collects one listed key (a s3p_list_fn). */
static int copy_list_cb(void *arg, const char *key, uint64_t size,
                        int64_t mtime){
  copy_keys *ck = arg;
  (void)mtime;
  s3p_hash h;
  if(!copy_key_hash(key, &h)) return 0;
  if(ck->set){
    s3p_hset *to = ck->old && mtime < ck->young_s ? ck->old : ck->set;
    if(s3p_hset_add(to, &h, 0) < 0){ ck->nomem = 1; return 1; }
    return 0;
  }
  if(ck->skip && s3p_hset_get(ck->skip, &h, NULL)) return 0;
  if(ck->n == ck->cap){
    size_t cap = ck->cap ? ck->cap * 2 : 1024;
    char (*k)[S3P_KEY_MAX] = realloc(ck->k, cap * sizeof *k);
    if(!k){ ck->nomem = 1; return 1; }
    ck->k = k;
    uint64_t *s = realloc(ck->size, cap * sizeof *s);
    if(!s){ ck->nomem = 1; return 1; }
    ck->size = s;
    ck->cap = cap;
  }
  snprintf(ck->k[ck->n], S3P_KEY_MAX, "%s", key);
  ck->size[ck->n] = size;
  ck->n++;
  return 0;
}

/* copy_list lists prefix of db's store into ck. Returns SQLITE_OK or an
** error (recorded in err). */
static int copy_list(s3p_db *db, s3p_db *err, const char *prefix,
                     copy_keys *ck){
  char *msg = NULL;
  int src = s3p_store_list(db->store, prefix, copy_list_cb, ck, &msg);
  int rc = SQLITE_OK;
  if(ck->nomem) rc = s3p_db_error(err, SQLITE_NOMEM, "out of memory");
  else if(src) rc = s3p_db_error(err, src == S3P_ENOMEM ? SQLITE_NOMEM
                                 : SQLITE_IOERR_READ, "%s: LIST %s: %s",
                                 db->store->desc, prefix,
                                 msg ? msg : s3p_errstr(src));
  free(msg);
  return rc;
}

/* What one copy works with. */
typedef struct copy_state {
  s3p_db *src;               /* the source, at its newest version */
  s3p_db *dst;               /* the destination (errors go here) */
  s3page_copy_result res;    /* counts */
  s3page_progress_fn progress; /* progress callback, or NULL */
  void *arg;                 /* its argument */
  uint64_t done;             /* objects handled so far */
  uint64_t total;            /* objects to handle */
  s3p_lease lease;           /* the marker held on DST */
} copy_state;

/* copy_batch copies keys[0..n) from SRC to DST: GETs in one batch, then
** PUTs (PUT_NEW for records: exists means compare). Returns SQLITE_OK or
** an error. */
static int copy_batch(copy_state *cs, char (*keys)[S3P_KEY_MAX], size_t n,
                      int records){
  s3p_op get[S3P_HIST_BATCH], put[S3P_HIST_BATCH];
  memset(get, 0, sizeof get);
  memset(put, 0, sizeof put);
  /* Nothing more is put once the marker may have been judged dead. */
  int lrc = s3p_lease_keep(&cs->lease);
  if(lrc) return lrc;
  for(size_t i = 0; i < n; i++){
    get[i].kind = S3P_OP_GET;
    get[i].key = keys[i];
  }
  int rc = SQLITE_OK;
  int src = s3p_store_exec(cs->src->store, get, n);
  if(src) rc = s3p_db_store_error(cs->dst, src, SQLITE_IOERR_READ, "GET",
                                  keys[0], NULL);
  size_t k = 0;
  for(size_t i = 0; i < n && rc == SQLITE_OK; i++){
    if(get[i].rc == S3P_ENOTFOUND && !records){
      /* Listed, then gone: gc removed an object no kept version uses. */
      cs->res.objects_vanished++;
      continue;
    }
    if(get[i].rc){
      rc = s3p_db_store_error(cs->dst, get[i].rc, SQLITE_IOERR_READ, "GET",
                              keys[i], get[i].errmsg);
      break;
    }
    put[k].kind = records ? S3P_OP_PUT_NEW : S3P_OP_PUT;
    put[k].key = keys[i];
    put[k].body = get[i].data;
    put[k].body_len = get[i].len;
    k++;
  }
  if(rc == SQLITE_OK && k){
    src = s3p_store_exec(cs->dst->store, put, k);
    if(src) rc = s3p_db_store_error(cs->dst, src, SQLITE_IOERR_WRITE, "PUT",
                                    put[0].key, NULL);
  }
  for(size_t i = 0; i < k && rc == SQLITE_OK; i++){
    if(put[i].rc == S3P_EEXISTS && records){
      /* From an earlier run, or another database: compare. */
      unsigned char *data = NULL;
      size_t len = 0;
      char *msg = NULL;
      int g = s3p_store_get(cs->dst->store, put[i].key, &data, &len, &msg);
      if(g){
        rc = s3p_db_store_error(cs->dst, g, SQLITE_IOERR_READ, "GET",
                                put[i].key, msg);
      }else if(len != put[i].body_len || memcmp(data, put[i].body, len)){
        rc = s3p_db_error(cs->dst, SQLITE_CANTOPEN, "%s: %s differs from "
                          "%s's: the destination holds another database",
                          cs->dst->store->desc, put[i].key,
                          cs->src->store->desc);
      }
      free(data);
      free(msg);
      continue;
    }
    if(put[i].rc){
      rc = s3p_db_store_error(cs->dst, put[i].rc, SQLITE_IOERR_WRITE, "PUT",
                              put[i].key, put[i].errmsg);
      break;
    }
    if(records) cs->res.records_copied++;
    else cs->res.objects_copied++;
    cs->res.bytes_copied += put[i].body_len;
  }
  for(size_t i = 0; i < k; i++) s3p_op_reset(&put[i]);  /* bodies: get[]'s */
  for(size_t i = 0; i < n; i++) s3p_op_reset(&get[i]);
  cs->done += n;
  if(cs->progress) cs->progress(cs->arg, cs->done, cs->total);
  return rc;
}

/* copy_objects copies the listed objects DST lacks. Returns SQLITE_OK or
** an error. */
static int copy_objects(copy_state *cs, copy_keys *ck){
  int rc = SQLITE_OK;
  size_t at = 0;
  while(at < ck->n && rc == SQLITE_OK){
    size_t m = 0;
    uint64_t bytes = 0;
    while(at + m < ck->n && m < S3P_HIST_BATCH &&
          (m == 0 || bytes + ck->size[at + m] <= S3P_HIST_BATCH_BYTES)){
      bytes += ck->size[at + m];
      m++;
    }
    rc = copy_batch(cs, ck->k + at, m, 0);
    at += m;
  }
  return rc;
}

/* copy_same_record is below. */
static int copy_same_record(copy_state *cs, uint64_t v);

/* copy_fresh looks up DST's newest version now, from expect (the version
** the copy last made or found there, 0 for none), and sets *next to the
** first record still to create. Normally that is expect + 1; if DST moved
** on (another copy of the same database), its newest record must be
** SRC's, and the copy goes on after it; a DST that lost its newest record
** or went past SRC holds another database. Returns SQLITE_OK or an
** error. */
static int copy_fresh(copy_state *cs, uint64_t expect, uint64_t newest,
                      uint64_t *next){
  int rc = s3p_hist_refresh(cs->dst, expect);
  if(rc) return rc;
  uint64_t now = cs->dst->view.version;
  if(now == expect){
    *next = expect + 1;
    return SQLITE_OK;
  }
  if(now < expect || now > newest){
    return s3p_db_error(cs->dst, SQLITE_CANTOPEN, "%s changed during the "
                        "copy (newest version %llu, expected %llu): it holds "
                        "another database", cs->dst->store->desc,
                        (unsigned long long)now, (unsigned long long)expect);
  }
  rc = copy_same_record(cs, now);
  if(rc == SQLITE_OK) *next = now + 1;
  return rc;
}

/* copy_records creates records from..to in DST, in order, one batch of
** up to S3P_HIST_BATCH at a time, each batch on top of DST's newest
** version looked up just before (copy_fresh; have: DST's newest when
** the copy began, whose record SRC shares). Returns SQLITE_OK or an
** error. */
static int copy_records(copy_state *cs, uint64_t have, uint64_t from,
                        uint64_t to){
  char keys[S3P_HIST_BATCH][S3P_KEY_MAX];
  int rc = SQLITE_OK;
  uint64_t made = have;      /* the newest record DST is known to hold */
  for(uint64_t v = from; v <= to && rc == SQLITE_OK;){
    uint64_t next = 0;
    rc = copy_fresh(cs, made, to, &next);
    if(rc) break;
    /* Records below DST's newest are SRC's already (or removed by gc on
    ** DST): never created again. */
    if(next > v){
      cs->done += next - v;
      v = next;
    }
    if(v > to) break;
    size_t m = 0;
    /* Each batch only once the previous one is in: no record before the
    ** one below it, except within a batch. */
    while(m < S3P_HIST_BATCH && v <= to){
      s3p_record_key(keys[m], v);
      m++;
      v++;
    }
    rc = copy_batch(cs, keys, m, 1);
    made = v - 1;
  }
  return rc;
}

/* copy_tail copies SRC's TAIL, if it has one, to DST. Returns SQLITE_OK or
** an error. */
static int copy_tail(copy_state *cs){
  unsigned char *data = NULL;
  size_t len = 0;
  char *msg = NULL;
  int g = s3p_store_get(cs->src->store, "TAIL", &data, &len, &msg);
  int rc = SQLITE_OK;
  if(g == S3P_OK){
    free(msg);
    msg = NULL;
    int p = s3p_store_put(cs->dst->store, S3P_OP_PUT, "TAIL", data, len, &msg);
    if(p) rc = s3p_db_store_error(cs->dst, p, SQLITE_IOERR_WRITE, "PUT",
                                  "TAIL", msg);
  }else if(g != S3P_ENOTFOUND){
    rc = s3p_db_store_error(cs->dst, g, SQLITE_IOERR_READ, "GET", "TAIL", msg);
  }
  free(data);
  free(msg);
  return rc;
}

/* What copy_mark collects: the objects versions since..newest use. */
typedef struct copy_mark_state {
  s3p_hset *pages;           /* page hashes */
} copy_mark_state;

/* copy_mark_page adds one page of a walked tree (a s3p_hwalk callback). */
static int copy_mark_page(void *arg, uint32_t pgno, const s3p_hash *h){
  copy_mark_state *m = arg;
  (void)pgno;
  return s3p_hset_add(m->pages, h, 0) < 0 ? SQLITE_NOMEM : 0;
}

/* copy_mark fills pages and nodes with every object versions from..to of
** db (SRC or DST) use: the trees of their checkpoints (each distinct tree
** walked once, shared subtrees once) and the pages their records name.
** Returns SQLITE_OK or an error (in DST). */
static int copy_mark(copy_state *cs, s3p_db *db, uint64_t from, uint64_t to,
                     s3p_hset *pages, s3p_hset *nodes){
  copy_mark_state m = { pages };
  s3p_hwalk w;
  memset(&w, 0, sizeof w);
  w.db = db;
  w.visited = nodes;
  w.page = copy_mark_page;
  w.arg = &m;
  s3p_record recs[S3P_HIST_BATCH];
  int rc = SQLITE_OK;
  for(uint64_t lo = from; lo <= to && rc == SQLITE_OK; lo += S3P_HIST_BATCH){
    uint64_t hi = to - lo >= S3P_HIST_BATCH ? lo + S3P_HIST_BATCH - 1 : to;
    size_t n = (size_t)(hi - lo + 1);
    memset(recs, 0, sizeof recs);
    rc = s3p_db_get_records(db, lo, hi, recs);
    for(size_t i = 0; i < n; i++){
      const s3p_record *r = &recs[i];
      if(rc == SQLITE_OK && (r->ckpt_version == r->version || r->version == from)){
        s3p_treeref t = { r->ckpt_root, r->ckpt_level };
        rc = s3p_hist_walk(&w, &t);
      }
      for(uint32_t k = 0; rc == SQLITE_OK && k < r->nchange; k++){
        if(s3p_hset_add(pages, &r->changes[k].hash, 0) < 0) rc = SQLITE_NOMEM;
      }
      s3p_record_free(&recs[i]);
    }
  }
  if(rc == SQLITE_NOMEM) rc = s3p_db_error(db, SQLITE_NOMEM, "out of memory");
  if(rc && db != cs->dst) s3p_db_error(cs->dst, rc, "%s", s3p_db_errmsg(db));
  return rc;
}

/* copy_keep_marked drops from ck the objects not in pages or nodes. */
static void copy_keep_marked(copy_keys *ck, const s3p_hset *pages,
                             const s3p_hset *nodes){
  size_t k = 0;
  for(size_t i = 0; i < ck->n; i++){
    s3p_hash h;
    if(!copy_key_hash(ck->k[i], &h)) continue;
    const s3p_hset *set = !strncmp(ck->k[i], "pages/", 6) ? pages : nodes;
    if(!s3p_hset_get(set, &h, NULL)) continue;
    if(k != i){
      memcpy(ck->k[k], ck->k[i], S3P_KEY_MAX);
      ck->size[k] = ck->size[i];
    }
    k++;
  }
  ck->n = k;
}

/* copy_held_safe adds to held the objects of old (those DST holds that
** were modified before the copy's marker protects them: from an
** interrupted copy, or only used by DST's older versions) that DST's
** newest version have uses. gc on DST keeps those while the copy runs
** (have stays DST's newest until the copy's records follow it); the
** others may be deleted meanwhile, so they are copied again. Returns
** SQLITE_OK or an error. */
static int copy_held_safe(copy_state *cs, uint64_t have, s3p_hset *old,
                          s3p_hset *held){
  if(have == 0 || old->count == 0) return SQLITE_OK;
  /* have's map: its checkpoint's tree (the one the record after the
  ** checkpoint points to, if the checkpoint itself was collected) and the
  ** changes of the records since. */
  uint64_t c = cs->dst->view.ckpt_version;
  uint64_t from = c == have ? have : c + 1;
  s3p_hset mp, mn;
  memset(&mp, 0, sizeof mp);
  memset(&mn, 0, sizeof mn);
  int rc = copy_mark(cs, cs->dst, from, have, &mp, &mn);
  for(size_t i = 0; rc == SQLITE_OK && i < old->nslot; i++){
    static const s3p_hash zero;
    const s3p_hash *h = &old->keys[i];
    if(!memcmp(h, &zero, sizeof zero)) continue;
    if(!s3p_hset_get(&mp, h, NULL) && !s3p_hset_get(&mn, h, NULL)) continue;
    if(s3p_hset_add(held, h, 0) < 0){
      rc = s3p_db_error(cs->dst, SQLITE_NOMEM, "out of memory");
    }
  }
  s3p_hset_free(&mp);
  s3p_hset_free(&mn);
  return rc;
}

/* copy_same_record checks that record v is byte-identical in both
** stores, before anything is copied. Returns SQLITE_OK, SQLITE_CANTOPEN
** when it differs or SRC lacks it, or an error. */
static int copy_same_record(copy_state *cs, uint64_t v){
  char key[S3P_KEY_MAX];
  s3p_record_key(key, v);
  unsigned char *a = NULL, *b = NULL;
  size_t na = 0, nb = 0;
  char *msg = NULL;
  int rc = SQLITE_OK;
  int g = s3p_store_get(cs->src->store, key, &a, &na, &msg);
  if(g == S3P_OK){
    free(msg);
    msg = NULL;
    g = s3p_store_get(cs->dst->store, key, &b, &nb, &msg);
  }
  if(g == S3P_ENOTFOUND || (g == S3P_OK && (na != nb || memcmp(a, b, na)))){
    rc = s3p_db_error(cs->dst, SQLITE_CANTOPEN, "%s: %s differs from %s's: "
                      "the destination holds another database",
                      cs->dst->store->desc, key, cs->src->store->desc);
  }else if(g){
    rc = s3p_db_store_error(cs->dst, g, SQLITE_IOERR_READ, "GET", key, msg);
  }
  free(a);
  free(b);
  free(msg);
  return rc;
}

int s3page_copy(const char *from, const char *to, uint64_t since,
                s3page_progress_fn progress, void *arg,
                s3page_copy_result *res, char **errmsg){
  return s3page_copy_range(from, to, since, 0, progress, arg, res, errmsg);
}

int s3page_copy_range(const char *from, const char *to, uint64_t since,
                      uint64_t until, s3page_progress_fn progress, void *arg,
                      s3page_copy_result *res, char **errmsg){
  copy_state cs;
  memset(&cs, 0, sizeof cs);
  cs.progress = progress;
  cs.arg = arg;
  if(errmsg) *errmsg = NULL;
  if(res) memset(res, 0, sizeof *res);
  int rc = s3p_hist_open(&cs.src, from, 0, 0, NULL, errmsg);
  if(rc) return rc;
  uint64_t newest = cs.src->view.version, oldest = 0;
  if(newest == 0){
    rc = s3p_hist_set_error(errmsg, SQLITE_CANTOPEN, "%s: no database here "
                            "(no commit records)", cs.src->store->desc);
    s3p_db_close(cs.src);
    return rc;
  }
  rc = s3p_hist_open(&cs.dst, to, 1, 1, NULL, errmsg);
  if(rc){ s3p_db_close(cs.src); return rc; }
  rc = s3p_version_oldest(cs.src, newest, &oldest);
  if(rc) s3p_db_error(cs.dst, rc, "%s", s3p_db_errmsg(cs.src));
  if(rc == SQLITE_OK && until){
    /* Up to until: it becomes DST's newest version. */
    if(until < oldest || until > newest || (since && since > until)){
      rc = s3p_db_error(cs.dst, SQLITE_CANTOPEN, "%s keeps versions %llu to "
                        "%llu; cannot copy up to version %llu%s",
                        cs.src->store->desc, (unsigned long long)oldest,
                        (unsigned long long)newest, (unsigned long long)until,
                        since > until ? " (below the first version asked)"
                                      : "");
    }else{
      newest = until;
    }
  }
  uint64_t keep_from = 0;    /* --since: the first version copied */
  if(rc == SQLITE_OK && since){
    if(since < oldest || since > newest){
      rc = s3p_db_error(cs.dst, SQLITE_CANTOPEN, "%s keeps versions %llu to "
                        "%llu; there is no version %llu to copy from",
                        cs.src->store->desc, (unsigned long long)oldest,
                        (unsigned long long)newest, (unsigned long long)since);
    }else{
      /* From the checkpoint since starts from: its records are needed to
      ** open it. */
      s3p_record r;
      rc = s3p_db_get_record(cs.src, since, &r);
      if(rc == SQLITE_NOTFOUND) rc = SQLITE_CORRUPT;
      if(rc == SQLITE_OK){
        /* Checkpoint 0 is the empty map: every record from 1 replays. */
        keep_from = r.ckpt_version > oldest ? r.ckpt_version : oldest;
        s3p_record_free(&r);
        oldest = keep_from;
      }else{
        s3p_db_error(cs.dst, rc, "%s", s3p_db_errmsg(cs.src));
      }
    }
  }
  uint64_t have = cs.dst->view.version;
  if(rc == SQLITE_OK && have > newest){
    rc = s3p_db_error(cs.dst, SQLITE_CANTOPEN, "%s has versions up to %llu, "
                      "more than %s's %llu copied: it holds another database",
                      cs.dst->store->desc, (unsigned long long)have,
                      cs.src->store->desc, (unsigned long long)newest);
  }
  if(rc == SQLITE_OK && have) rc = copy_same_record(&cs, have);
  s3p_hset held, old;
  memset(&held, 0, sizeof held);
  memset(&old, 0, sizeof old);
  /* The marker first: what DST holds counts as there only if it was
  ** modified after the marker's protection begins, or DST's newest
  ** version uses it (copy_held_safe). */
  if(rc == SQLITE_OK) rc = s3p_lease_begin(&cs.lease, cs.dst);
  copy_keys want;
  memset(&want, 0, sizeof want);
  if(rc == SQLITE_OK){
    copy_keys dk;
    memset(&dk, 0, sizeof dk);
    dk.set = &held;
    dk.old = &old;
    /* gc spares from the start less the margin, in whole seconds. */
    uint64_t floor = cs.lease.start_ms > (uint64_t)S3P_GC_MARGIN_MS
                   ? cs.lease.start_ms - (uint64_t)S3P_GC_MARGIN_MS : 0;
    dk.young_s = (int64_t)(floor / 1000) + 1;
    rc = copy_list(cs.dst, cs.dst, "pages/", &dk);
    if(rc == SQLITE_OK) rc = copy_list(cs.dst, cs.dst, "index/", &dk);
    if(rc == SQLITE_OK) rc = copy_held_safe(&cs, have, &old, &held);
  }
  if(rc == SQLITE_OK){
    want.skip = &held;
    rc = copy_list(cs.src, cs.dst, "pages/", &want);
    if(rc == SQLITE_OK) rc = copy_list(cs.src, cs.dst, "index/", &want);
    cs.res.objects_held = held.count;
  }
  if(rc == SQLITE_OK && (keep_from || until)){
    /* Only what the versions copied use. */
    s3p_hset mp, mn;
    memset(&mp, 0, sizeof mp);
    memset(&mn, 0, sizeof mn);
    rc = copy_mark(&cs, cs.src, keep_from ? keep_from : oldest, newest, &mp,
                   &mn);
    if(rc == SQLITE_OK) copy_keep_marked(&want, &mp, &mn);
    s3p_hset_free(&mp);
    s3p_hset_free(&mn);
  }
  /* From SRC's oldest, or again from DST's newest, whose record must be
  ** SRC's (compared when it turns out to exist): else another database. */
  uint64_t first = have ? have : oldest;
  if(rc == SQLITE_OK && have && have < oldest){
    rc = s3p_db_error(cs.dst, SQLITE_CANTOPEN, "%s ends at version %llu, "
                      "below %s's oldest kept version %llu: copy into an "
                      "empty destination", cs.dst->store->desc,
                      (unsigned long long)have, cs.src->store->desc,
                      (unsigned long long)oldest);
  }
  cs.total = want.n + (newest >= first ? newest - first + 1 : 0);
  if(rc == SQLITE_OK) rc = copy_objects(&cs, &want);
  if(rc == SQLITE_OK) rc = keep_from ? s3p_tail_write(cs.dst, keep_from)
                                     : copy_tail(&cs);
  if(rc == SQLITE_OK && newest >= first){
    rc = copy_records(&cs, have, first, newest);
  }
  s3p_lease_end(&cs.lease);
  if(rc == SQLITE_OK){
    cs.res.version = newest;
    cs.res.oldest = oldest;
    cs.dst->head_pending = newest;
    s3p_db_flush_head(cs.dst);
  }
  const s3p_store_stats *so = &cs.dst->store->stats;
  cs.res.n_put = so->n_put;
  cs.res.n_list = so->n_list + cs.src->store->stats.n_list;
  cs.res.n_get = cs.src->store->stats.n_get + so->n_get;
  if(res) *res = cs.res;
  free(want.k);
  free(want.size);
  s3p_hset_free(&held);
  s3p_hset_free(&old);
  s3p_db_close(cs.src);
  return s3p_hist_finish(cs.dst, rc, errmsg);
}
