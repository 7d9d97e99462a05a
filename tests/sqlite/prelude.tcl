# prelude.tcl: runs one of SQLite's test files in testfixture with s3page as
# the default VFS, after adapting two helpers of SQLite's tester.tcl to
# databases that are directories.
#
#   testfixture prelude.tcl TESTFILE
#
# With s3page, "test.db" is a directory store, not a file. SQLite's
# tester.tcl deletes and copies databases with [file delete] and
# [file copy], which for a directory mean something else: [file delete DIR]
# refuses a non-empty directory, and [file copy -force SRC DST] with DST an
# existing directory copies SRC *into* it. After tester.tcl is sourced (each
# test file sources it first), delete_file and do_copy_file are wrapped so
# that deleting a database deletes the whole store and copying one replaces
# the target, which is what the tests mean. Files are handled as before.
# [file size] of a store is answered as for the database file (see below).
#
# A store is copied by hard-linking its files into a new tree of
# directories. That is a true copy, because the directory store never
# changes a file in place: every PUT writes a new file and renames or links
# it into place, and a DELETE unlinks. It is also far cheaper than copying
# the bytes, which matters to the fault-injection tests: they restore a
# saved database before every one of hundreds of iterations, and creating
# (then deleting) a few hundred fresh inodes per iteration is slow on ext4.

set s3p_testfile [lindex $argv 0]
set argv [lrange $argv 1 end]
set argc [llength $argv]
set argv0 $s3p_testfile

# s3p_is_store: is path a directory store (anything s3page made)?
proc s3p_is_store {path} {
  expr {[s3p_tcl_file isdirectory $path] && [s3p_tcl_file type $path] ne "link"}
}

# s3p_copy_store: copies store from into to (which must not exist), linking
# files; the store's tmp/ directory holds only unfinished writes: skipped.
proc s3p_copy_store {from to} {
  file mkdir $to
  foreach name [glob -nocomplain -tails -directory $from * .*] {
    if {$name eq "." || $name eq ".."} continue
    set src [file join $from $name]
    set dst [file join $to $name]
    if {[file isdirectory $src]} {
      if {$name ne "tmp"} { s3p_copy_store $src $dst }
    } else {
      file link -hard $dst $src
    }
  }
}

# s3p_store_size: the size in bytes the database at path has as a file
# (its newest version's page count times its page size), read through a
# read-only connection of its own.
proc s3p_store_size {path} {
  sqlite3 s3p_size_db $path -readonly 1
  set size [s3p_size_db one {SELECT page_count * page_size
                             FROM pragma_page_count, pragma_page_size}]
  s3p_size_db close
  return $size
}

# [file size DB] of a store is the size the database would have as a file,
# which is what tests of vacuum and auto-vacuum measure; every other use of
# [file] is Tcl's own.
rename file s3p_tcl_file
proc file {args} {
  if {[llength $args] == 2 && [lindex $args 0] eq "size"
      && [s3p_is_store [lindex $args 1]]} {
    return [s3p_store_size [lindex $args 1]]
  }
  uplevel 1 [list s3p_tcl_file {*}$args]
}

# s3p_adapt_tester: wraps tester.tcl's delete and copy helpers.
proc s3p_adapt_tester {} {
  if {[info procs do_delete_file] eq "" || [info procs s3p_orig_delete] ne ""} {
    return
  }
  rename do_delete_file s3p_orig_delete
  proc do_delete_file {force args} {
    foreach f $args {
      if {[s3p_is_store $f]} {
        file delete -force -- $f
      } else {
        s3p_orig_delete $force $f
      }
    }
  }
  rename do_copy_file s3p_orig_copy
  proc do_copy_file {force from to} {
    if {![s3p_is_store $from]} {
      return [s3p_orig_copy $force $from $to]
    }
    if {[file exists $to]} {
      if {!$force} { error "error copying \"$from\" to \"$to\": file exists" }
      file delete -force -- $to
    }
    s3p_copy_store $from $to
  }
}

# Each time tester.tcl has been sourced (it redefines its procs), adapt.
proc s3p_after_source {cmd code result op} {
  if {[string match *tester.tcl [lindex $cmd end]]} s3p_adapt_tester
}
trace add execution source leave s3p_after_source

source $s3p_testfile
