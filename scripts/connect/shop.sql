-- The OLTP tables of README "From a MySQL orders table to cubes", as the CDC codecs read them
-- (schemas/codecs/cdc-rows.ts). `lines` is a reserved word in MySQL and MariaDB: quote it.
CREATE TABLE IF NOT EXISTS orders (
  order_id         VARCHAR(64)   NOT NULL PRIMARY KEY,
  status           VARCHAR(32)   NOT NULL,
  user_id          VARCHAR(64)   NOT NULL,
  community_id     VARCHAR(64)   NOT NULL,
  leader_id        VARCHAR(64)   NOT NULL,
  total_amount     DECIMAL(12,2) NOT NULL,
  refund_amount    DECIMAL(12,2) NULL,
  complaint_reason VARCHAR(32)   NULL,
  delivery_lat     DOUBLE        NOT NULL,
  delivery_lon     DOUBLE        NOT NULL,
  customer_name    VARCHAR(256)  NOT NULL,
  customer_phone   VARCHAR(32)   NOT NULL,
  customer_address VARCHAR(512)  NOT NULL,
  `lines`          JSON          NOT NULL,
  updated_at       DATETIME(3)   NOT NULL
);

CREATE TABLE IF NOT EXISTS inventory (
  warehouse_id     VARCHAR(64)   NOT NULL,
  community_id     VARCHAR(64)   NOT NULL,
  sku              VARCHAR(64)   NOT NULL,
  batch_id         VARCHAR(64)   NOT NULL,
  qty              INT           NOT NULL,
  production_date  DATE          NULL,
  expiry_date      DATE          NULL,
  updated_at       DATETIME(3)   NOT NULL,
  PRIMARY KEY (warehouse_id, sku, batch_id)
);
