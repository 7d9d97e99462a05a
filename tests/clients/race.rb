# race.rb: a Ruby transaction that loses a race with a writer on another
# machine (its own lock_dir) gets SQLite3::BusyException from the commit
# at the end of db.transaction, with SQLite's transaction already rolled
# back; running the block again commits. Run by ruby.test.sh after app.rb
# (which registers nothing here: this loads the extension itself), with
# the database URI as its argument.
require "sqlite3"
require "tmpdir"

boot = SQLite3::Database.new(":memory:")
boot.enable_load_extension(true)
boot.load_extension("libs3page")
boot.close

open = SQLite3::Constants::Open
flags = open::READWRITE | open::CREATE | open::URI
uri = ARGV.fetch(0)
a = SQLite3::Database.new(uri, flags: flags)
b = SQLite3::Database.new(uri + "&lock_dir=" + Dir.mktmpdir, flags: flags)
a.execute("CREATE TABLE IF NOT EXISTS counter(n INTEGER)")
a.execute("DELETE FROM counter")
a.execute("INSERT INTO counter VALUES (0)")

attempts = 0
begin
  attempts += 1
  a.transaction do
    n = a.get_first_value("SELECT n FROM counter")
    b.execute("UPDATE counter SET n = n + 10") if attempts == 1
    a.execute("UPDATE counter SET n = ?", [n + 1])
  end
rescue SQLite3::BusyException => e
  raise "still in a transaction after the lost commit" if a.transaction_active?
  puts "lost the race: #{e.class}: #{e.message}"
  retry if attempts < 5
end
n = a.get_first_value("SELECT n FROM counter")
puts "counter #{n} after #{attempts} attempts"
raise "want 11 after 2 attempts" unless n == 11 && attempts == 2
