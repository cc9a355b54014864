same as: nodes/ctl1/usr/local/lib/python3.11/dist-packages/hastack_lab_volume.py
