"""A holiday schedule for the tests and the benchmarks."""

# A 2027 schedule as the State Council might publish it: 春节 from 除夕 with two working
# weekend days (a Sunday before, a Saturday after), 国庆 with two as well.
OFFICIAL_2027 = """\
# 国务院办公厅关于2027年部分节假日安排的通知 (a stand-in for the tests)
year = 2027
official = true
source = "test notice"

[[holiday]]
name = "元旦"
off = ["2027-01-01..2027-01-03"]

[[holiday]]
name = "春节"
off = ["2027-02-05..2027-02-13"]
work = ["2027-01-31", "2027-02-20"]

[[holiday]]
name = "清明节"
off = ["2027-04-03..2027-04-05"]

[[holiday]]
name = "劳动节"
off = ["2027-05-01..2027-05-05"]
work = [2027-04-25, 2027-05-08]

[[holiday]]
name = "端午节"
off = ["2027-06-09"]

[[holiday]]
name = "中秋节"
off = ["2027-09-15"]

[[holiday]]
name = "国庆节"
off = ["2027-10-01..2027-10-07"]
work = ["2027-09-26", "2027-10-09"]
"""
