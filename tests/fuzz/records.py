"""Mutation fuzzing of the reader through the real binary (built with
ASan + UBSan): mutates the example and test feeds (quotes, commas, newlines,
GBK and UTF-8 fragments, long digit runs), runs `fundwatch records` on each,
and keeps any input that makes the sanitizers speak or the exit status leave
0..2 as tests/fuzz/crash-*.csv.  Usage: records.py BIN SEED COUNT"""
import random, subprocess, sys, os, glob
BIN = sys.argv.pop(1)
random.seed(int(sys.argv[1]))
seeds=[open(f,'rb').read() for f in glob.glob('examples/feeds/*')+glob.glob('tests/e2e/records_*/*.csv')+glob.glob('tests/e2e/records_*/*.ndjson')]
bad=0
TMP='/tmp/fw-fuzz-%d.csv' % os.getpid()
for it in range(int(sys.argv[2])):
    s=bytearray(random.choice(seeds))
    for _ in range(random.randint(1,20)):
        op=random.randrange(5); i=random.randrange(len(s)+1)
        if op==0 and s: del s[i:i+random.randint(1,8)]
        elif op==1: s[i:i]=b''.join(random.choice([b'"',b',',b'\n',b'\r',b'\xd3',b'\xef\xbb\xbf',b'{',b'}',b'""',b'\xe4\xb8']) for _ in range(random.randint(1,4)))
        elif op==2 and s: j=random.randrange(len(s)); s[j]=random.randrange(1,256)
        elif op==3: s[i:i]=s[:random.randint(0,50)]
        else: s[i:i]=b'9'*random.randint(1,30)
    open(TMP,'wb').write(s)
    for chunkenv in [None]:
        r=subprocess.run([BIN,'records',TMP],capture_output=True)
        if r.returncode not in (0,1,2) or b'Sanitizer' in r.stderr or b'runtime error' in r.stderr:
            bad+=1; open(f'tests/fuzz/crash-{sys.argv[1]}-{it}.csv','wb').write(s); print('CRASH',it,r.returncode,r.stderr[-500:])
os.unlink(TMP)
print('fuzz: %s inputs, %d crashes' % (sys.argv[2], bad))
sys.exit(1 if bad else 0)
