"""Passwords of 8 characters or more that top the published lists of leaked passwords (English
and Chinese sites alike), compared case-insensitively. Short on purpose: it stops the first
guesses of anyone trying names one by one; length and the sign-in limit do the rest."""

COMMON_PASSWORDS = frozenset(
    """
    12345678 123456789 1234567890 0123456789 87654321 987654321 9876543210 12344321
    123123123 123321123 12341234 11223344 112233445566 123456123456 1234512345 123654789
    147258369 159357456 147852369 741852963 789456123 1122334455 5201314520 52013145201314
    1314520520 5211314521 woaini1314 woaini520 woaini123 woaini521 iloveyou1314 5201314a
    a12345678 a123456789 aa123456 aa12345678 abc12345 abc123456 abc123456789 abcd1234
    abcd12345 abcd123456 abcdefgh abcdefg123 1234abcd 12345abc 123456abc 123456aa 123456qq
    qq123456 qq5201314 asd12345 asd123456 zxc12345 zxc123456 qwe12345 qwe123456 qwer1234
    qwerty12 qwerty123 qwerty1234 qwertyui qwertyuiop 1qaz2wsx 1qaz2wsx3edc 1q2w3e4r
    1q2w3e4r5t 1q2w3e4r5t6y q1w2e3r4 q1w2e3r4t5 zaq12wsx zxcvbnm123 asdfghjk
    asdfghjkl asdf1234 qweasdzxc 123qweasd qazwsxedc qazwsx123 1qazxsw2 password password1
    password12 password123 password1234 passw0rd p@ssw0rd p@ssword pa$$word passwort
    iloveyou iloveyou1 iloveyou2 princess1 sunshine sunshine1 football football1 baseball
    basketball superman batman123 starwars whatever trustno1 letmein1 letmein123
    welcome1 welcome123 welcome2026 monkey123 dragon123 shadow123 master123 michael1
    jennifer charlie1 computer internet 11111111a changeme changeme1 default1 secret123
    admin123 admin1234 admin12345 admin123456 admin888 admin8888 administrator root1234
    test1234 test12345 test123456 testtest guest123 user1234 demo1234 login123
    china123 china1234 zhongguo beijing123 shanghai wangyang zhangwei liuyang123 wang1234
    wang123456 zhang123 zhang123456 li123456 aini1314 woaiwojia 31415926 3.1415926
    88888888a 8888888888 666666666 1234qwer 1234567a 12345678a 123456789a 1234567890a
    abc@1234 admin@123 admin@1234 qwe@1234 p@ssw0rd1 password! password@123
    streetflow streetflow1 streetflow123
    """.split()  # noqa: SIM905  (a word list reads better than a list of strings)
)
