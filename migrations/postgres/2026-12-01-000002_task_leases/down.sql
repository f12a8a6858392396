DROP TABLE task_leases;
